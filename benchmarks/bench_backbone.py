"""VGG-16's forward time against what its FLOP count costs at this machine's matmul throughput,
both measured in the same command (issue 9: "reach at least half of that throughput").

    nice -n 10 python benchmarks/bench_backbone.py --json runs/bench_backbone.json

1. Peak: torch fp32 matmul of two ``--matmul-n`` square matrices (default 2048, 2 n^3 FLOP),
   1 and 2 threads, best of ``--repeats``; bf16 too when the CPU has AVX-512 BF16 or AMX
   (``/proc/cpuinfo`` flags ``avx512_bf16`` / ``amx_bf16``).
2. VGG-16 (the authors' weights, ``regtrack[vgg]``; ``--weights random`` times the same network)
   on square RGB patches of ``--sizes`` px (CREST's search window: 5x a target whose area is scaled
   to at most 100^2 px, so up to ~500 px), up to conv4_3 (CREST's layer) and conv5_3 (HCF's
   deepest), both timed in one pass (the time stamp at conv4_3's ReLU). FLOP = 2 x 9 x C_in x
   C_out x H x W per 3x3 conv (multiply-adds only; bias, ReLU and pooling are < 1 %). Variants:

   * ``eager NCHW``: plain ``nn.Sequential`` on contiguous tensors under ``no_grad`` (the path
     before this benchmark);
   * ``channels_last``: :class:`regtrack.features.backbones.VGG`'s forward (channels-last
     network and input, ``inference_mode``): the default;
   * ``mkldnn prepacked``: ``torch.utils.mkldnn.to_mkldnn`` (weights reordered once into
     oneDNN's blocked layout; a deprecated TorchScript-based API);
   * ``bf16 autocast``: the default path with ``VGG(bf16=True)`` (bfloat16 convolutions);
   * ``compiled`` (``--compile``): ``torch.compile`` of the channels-last network, 224 px only
     (it compiles once per input shape).

Times: per variant and size, one warm-up pass, then ``--repeats`` passes interleaved across the
variants (so that they share the machine's load); the best pass counts. With one thread the
process CPU time is used (what the work costs when the 2 shared cores are busy with other
people's jobs); with two threads, wall-clock time. "of matmul" = the variant's GFLOP/s over the
matmul's of the same dtype (fp32, or bf16 for the bf16 variant), measured the same way with the
same threads.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from regtrack.features.backbones import VGG, vgg_layer_table
from regtrack.features.vgg_weights import vgg_conv_shapes

LAYERS = ("conv4_3", "conv5_3")


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def vgg16_flops(size: int, upto: str) -> float:
    """FLOP of VGG-16's 3x3 convs on a ``size`` x ``size`` input up to layer ``upto`` (inclusive)."""
    total = 0.0
    for name, (c_out, c_in, kh, kw) in vgg_conv_shapes(16).items():
        side = size // 2 ** (int(name[4]) - 1)  # each 2x2 max-pool floors the side
        total += 2.0 * kh * kw * c_in * c_out * side * side
        if name == upto:
            break
    return total


def clock(threads: int) -> Callable[[], float]:
    """Process CPU time with one thread (robust to other jobs), wall-clock time with more."""
    return time.process_time if threads == 1 else time.perf_counter


def matmul_gflops(n: int, dtype: torch.dtype, threads: int, repeats: int) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    now, best = clock(threads), float("inf")
    for _ in range(repeats):
        t0 = now()
        a @ b
        best = min(best, now() - t0)
    return 2.0 * n**3 / best / 1e9


Variant = tuple[Callable[[np.ndarray], object], torch.nn.Module]


def variants(net: VGG, with_compile: bool) -> dict[str, Variant]:
    """name -> (run the patch to conv5_3, the module whose output is conv4_3 to stamp the time)."""
    i43, i53 = (vgg_layer_table(16)[n][1] for n in LAYERS)
    eager = copy.deepcopy(net.net).to(memory_format=torch.contiguous_format)[:i53 + 1]

    def run_eager(patch: np.ndarray) -> object:
        with torch.no_grad():
            return eager(net.preprocess(patch).contiguous())

    out: dict[str, Variant] = {
        "eager NCHW": (run_eager, eager[i43]),
        "channels_last": (lambda p: net.features(p, ["conv5_3"]), net.net[i43]),
    }
    from torch.utils import mkldnn  # deprecated (TorchScript-based): imported only here

    packed = mkldnn.to_mkldnn(copy.deepcopy(eager))

    def run_packed(patch: np.ndarray) -> object:
        with torch.inference_mode():
            return packed(net.preprocess(patch).contiguous().to_mkldnn()).to_dense()

    out["mkldnn prepacked"] = (run_packed, packed[i43])
    bf16 = copy.copy(net)
    bf16.bf16 = True
    out["bf16 autocast"] = (lambda p: bf16.features(p, ["conv5_3"]), net.net[i43])
    if with_compile:  # two graphs, so that the conv4_3 time stamp is no graph break
        to43, to53 = torch.compile(net.net[:i43 + 1]), torch.compile(net.net[i43 + 1:i53 + 1])
        marker = torch.nn.Identity()

        def run_compiled(patch: np.ndarray) -> object:
            with torch.inference_mode():
                return to53(marker(to43(net.preprocess(patch).contiguous(memory_format=torch.channels_last))))

        out["compiled"] = (run_compiled, marker)
    return out


def time_variants(net: VGG, sizes: list[int], threads: int, repeats: int, names: list[str],
                  with_compile: bool) -> list[dict]:
    torch.set_num_threads(threads)
    runs = {k: v for k, v in variants(net, with_compile).items() if k in names}
    now = clock(threads)
    rows = []
    stamp: list[float] = []  # the time at conv4_3's ReLU, appended by a forward hook
    for size in sizes:
        patch = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
        best = {k: [float("inf"), float("inf")] for k in runs}
        compile_s = None
        for rep in range(repeats + 1):  # rep 0 = warm-up (oneDNN primitive creation, compilation)
            for name, (run, at_conv4_3) in runs.items():
                if name == "compiled" and size != 224:
                    continue
                hook = at_conv4_3.register_forward_hook(lambda *_: stamp.append(now()))
                t0 = now()
                run(patch)
                t1 = now()
                hook.remove()
                if rep == 0:
                    if name == "compiled":
                        compile_s = t1 - t0
                    continue
                best[name][0] = min(best[name][0], stamp[-1] - t0)
                best[name][1] = min(best[name][1], t1 - t0)
        for name, (s43, s53) in best.items():
            if np.isinf(s53):
                continue
            row = {"variant": name, "size": size, "threads": threads, "s_conv4_3": s43, "s_conv5_3": s53,
                   "gflop_conv4_3": vgg16_flops(size, "conv4_3") / 1e9,
                   "gflop_conv5_3": vgg16_flops(size, "conv5_3") / 1e9}
            if name == "compiled":
                row["compile_s"] = compile_s
                print(f"compiled: first pass (compilation) {compile_s:.1f} s", flush=True)
            rows.append(row)
            print(f"{threads} thr {size:4d} px {name:18s} conv4_3 {s43 * 1e3:7.0f} ms "
                  f"({row['gflop_conv4_3'] / s43:6.1f} GFLOP/s)  conv5_3 {s53 * 1e3:7.0f} ms "
                  f"({row['gflop_conv5_3'] / s53:6.1f} GFLOP/s)", flush=True)
    return rows


def check_same_results(net: VGG) -> dict[str, float]:
    """Largest difference of each variant's conv5_3 from eager NCHW, relative to its largest value."""
    patch = np.random.default_rng(7).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    torch.set_num_threads(1)
    outs = {}
    for name, (run, _) in variants(net, False).items():
        y = run(patch)
        outs[name] = (y["conv5_3"] if isinstance(y, dict) else y).float()
    ref = outs["eager NCHW"]
    return {k: float((v - ref).abs().max() / ref.abs().max()) for k, v in outs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="224,320,500")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--matmul-n", type=int, default=2048)
    ap.add_argument("--weights", default=None, help="VGG-16 weights file (default: regtrack[vgg]); random")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    flags = cpu_flags()
    has_bf16 = bool({"avx512_bf16", "amx_bf16"} & flags)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"bf16 units: {has_bf16}", flush=True)
    peak = {}
    for threads in (1, 2):
        for dtype in (torch.float32, torch.bfloat16) if has_bf16 else (torch.float32,):
            key = f"{str(dtype).split('.')[-1]}_{threads}"
            peak[key] = matmul_gflops(args.matmul_n, dtype, threads, max(args.repeats, 7))
            print(f"matmul {args.matmul_n}^2 {key}: {peak[key]:.1f} GFLOP/s", flush=True)
    net = VGG(16, args.weights)
    differences = check_same_results(net)
    print("conv5_3 max |difference| / max |value| vs eager NCHW: "
          + ", ".join(f"{k} {v:.1e}" for k, v in differences.items()), flush=True)
    one = ["eager NCHW", "channels_last", "mkldnn prepacked"] + (["bf16 autocast"] if has_bf16 else [])
    rows = time_variants(net, sizes, 1, args.repeats, one + (["compiled"] if args.compile else []),
                         args.compile)
    two = ["channels_last"] + (["bf16 autocast"] if has_bf16 else [])
    rows += time_variants(net, sizes, 2, args.repeats, two, False)
    for row in rows:  # against the matmul of the same dtype and threads
        matmul = peak[("bfloat16" if "bf16" in row["variant"] else "float32") + f"_{row['threads']}"]
        for layer in LAYERS:
            row[f"of_peak_{layer}"] = row[f"gflop_{layer}"] / row[f"s_{layer}"] / matmul
    print("\n| threads | size | variant | conv4_3 ms | GFLOP | GFLOP/s | of matmul | conv5_3 ms | GFLOP | "
          "GFLOP/s | of matmul |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['threads']} | {r['size']} | {r['variant']} | "
              + " | ".join(f"{r[f's_{la}'] * 1e3:.0f} | {r[f'gflop_{la}']:.1f} | "
                           f"{r[f'gflop_{la}'] / r[f's_{la}']:.1f} | {r[f'of_peak_{la}']:.0%}"
                           for la in LAYERS)
              + " |")
    if args.json:
        from regtrack.fileio import atomic_write

        atomic_write(args.json, json.dumps({"peak_gflops": peak, "differences": differences, "rows": rows,
                                            "weights": net.weights_source}, indent=1))


if __name__ == "__main__":
    main()
