"""CREST on the OTB targets in ../shared/data/otb: AUC and precision per target beside the
authors' published CREST results, with KCF and HCF run in the same benchmark, the residual
ablations, the speed of each configuration and where CREST's time goes.

    OMP_NUM_THREADS=1 nice python benchmarks/bench_crest.py --out runs/bench_crest \
        --run kcf@KCF --run crest@CREST \
        --run crest:spatial_residual=false@no-spatial --run crest:temporal_residual=false@no-temporal \
        --run crest:spatial_residual=false,temporal_residual=false@base-only \
        --run crest:backbone_dtype=bfloat16,scale_features=dsst,max_window=201@CREST-fast \
        --run hcf:backbone=vgg16@HCF-vgg16 --json runs/bench_crest.json

``--run`` specs, resuming, interleaving and the fps columns are those of ``bench_hcf.py``
(:func:`common.otb_side_by_side`). CREST keeps its seconds per stage (backbone, first-frame
training, regression head, online updates); they are saved per target and printed per
configuration. ``--flops`` first measures this machine's matmul throughput and the stride-4
VGG-16 trunk's (conv1_1 .. conv4_3 without pool3, CREST's network) on square windows, and how
much of the matmul throughput the trunk reaches.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import SHARED, otb_side_by_side  # noqa: E402  (benchmarks/ is on sys.path when run)


def trunk_flops(side: int, last: str = "conv4_3") -> float:
    """Multiply-adds x 2 of VGG-16 conv1_1 .. ``last`` (conv4_3: CREST; conv5_3: DSLT) without
    pool3 and pool4 on a ``side`` px square input (3x3 convs; the maps halve, rounding up, after
    conv1_2 and conv2_2)."""
    convs = [(3, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 2), (128, 256, 4), (256, 256, 4),
             (256, 256, 4), (256, 512, 4), (512, 512, 4), (512, 512, 4)]
    if last == "conv5_3":
        convs += [(512, 512, 4)] * 3
    total = 0.0
    for c_in, c_out, stride in convs:
        cells = -(-side // stride)
        total += 2.0 * 9 * c_in * c_out * cells * cells
    return total


def best_of_3(fn) -> float:  # noqa: ANN001
    """The fastest of 3 calls after a warm-up: process CPU seconds on one torch thread (what the
    work costs when it gets a core, whatever else runs), wall-clock seconds on more."""
    import torch

    fn()
    clock = time.process_time if torch.get_num_threads() == 1 else time.perf_counter
    times = []
    for _ in range(3):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def measure_flops(sides: list[int], threads: list[int], last: str = "conv4_3") -> dict:
    """Matmul GFLOP/s (2048^3, fp32 and bf16) and the stride-4 trunk's (to ``last``) GFLOP/s per
    window side, per thread count (:func:`best_of_3`: one thread in CPU time, two in wall-clock
    time, meaningful only on an idle machine)."""
    import torch

    from regtrack.features.backbones import create_backbone, vgg_stride4_trunk

    trunk = vgg_stride4_trunk(create_backbone("vgg16", "random"), last).to(memory_format=torch.channels_last)
    out: dict = {}

    for n in threads:
        torch.set_num_threads(n)
        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        row: dict = {}
        for dtype in (torch.float32, torch.bfloat16):
            x, y = a.to(dtype), b.to(dtype)
            row[f"matmul_{str(dtype)[6:]}_gflops"] = 2 * 2048**3 / best_of_3(lambda x=x, y=y: x @ y) / 1e9
        for side in sides:
            x = torch.rand(1, 3, side, side).contiguous(memory_format=torch.channels_last) * 255
            for dtype, enabled in (("float32", False), ("bfloat16", True)):
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
                    dt = best_of_3(lambda x=x: trunk(x))
                row[f"trunk_{side}_{dtype}_s"] = dt
                row[f"trunk_{side}_{dtype}_gflops"] = trunk_flops(side, last) / dt / 1e9
        out[f"{n}_threads"] = row
        print(f"{n} thread(s): matmul fp32 {row['matmul_float32_gflops']:.0f} GFLOP/s, bf16 "
              f"{row['matmul_bfloat16_gflops']:.0f} GFLOP/s", flush=True)
        for side in sides:
            f32, bf = row[f"trunk_{side}_float32_gflops"], row[f"trunk_{side}_bfloat16_gflops"]
            print(f"  trunk to {last} {side:4d} px ({trunk_flops(side, last) / 1e9:6.1f} GFLOP): fp32 "
                  f"{row[f'trunk_{side}_float32_s']:.3f} s = {f32:.0f} GFLOP/s "
                  f"({f32 / row['matmul_float32_gflops']:.0%} of matmul); bf16 "
                  f"{row[f'trunk_{side}_bfloat16_s']:.3f} s = {bf:.0f} GFLOP/s "
                  f"({bf / row['matmul_bfloat16_gflops']:.0%} of bf16 matmul)", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    def add_arguments(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--flops", action="store_true", help="measure matmul and trunk throughput first")
        ap.add_argument("--flops-sides", default="145,281,401", help="window sides for --flops")

    def before(args: argparse.Namespace, dataset, summary: dict) -> None:  # noqa: ANN001
        if args.flops:
            summary["flops"] = measure_flops([int(s) for s in args.flops_sides.split(",")], [1, 2])

    return otb_side_by_side(argv, description=__doc__, published=SHARED / "data/results/OTB100/CREST",
                            published_label="CREST (published)", out=Path("runs/bench_crest"),
                            add_arguments=add_arguments, before=before)


if __name__ == "__main__":
    main()
