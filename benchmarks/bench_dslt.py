"""DSLT on the OTB targets in ../shared/data/otb, beside CREST (the authors' raw DSLT results are
not published; its paper reports OTB-2015 AUC 0.660), with the three losses and KCF in the same
run:

    OMP_NUM_THREADS=1 nice python benchmarks/bench_dslt.py --out runs/bench_dslt \
        --run kcf@KCF --run crest@CREST --run dslt@DSLT --run dslt:loss=l2@DSLT-L2 \
        --run dslt:loss=l3@DSLT-L3 --json runs/bench_dslt.json

and the fast configuration (one network pass a frame, RESULTS_dslt.md sec. 6; the two dtypes only on a
CPU with AVX-512 BF16 or AMX: an AVX2-only CPU emulates bf16 ~100x slower, so drop them there, sec. 7):

    F=backbone_dtype=bfloat16,head_dtype=bfloat16,scale_samples=dsst,update_sample=detection
    F=$F,buffer_size=1,update_iterations=1,init_iterations=50,min_window=128,max_input=128
    OMP_NUM_THREADS=1 python benchmarks/bench_dslt.py --out runs/bench_dslt --run "dslt:$F@DSLT-fast"

The reference column is the authors' published CREST (the issue's bar); ``--run`` specs,
resuming, interleaving, fps and the per-stage seconds are those of ``bench_crest.py``
(:func:`common.otb_side_by_side`).

``--flops`` first measures this machine's matmul throughput, DSLT's trunk (VGG-16 conv1_1 ..
conv5_3 without pool3 and pool4: conv4_3 and conv5_3 at stride 4) and one online training step
of the head (forward and backward of the two 3x3 reductions 512 -> 128, the bulk of a step;
DSLT takes 14 a frame: 2 on each of 7 buffered samples), in float32 and bfloat16, and prints the
FLOPs of a frame with the paper's settings and with the fast configuration's (one pass, one step):

    python benchmarks/bench_dslt.py --flops --flops-sides 201,281 --sequences Skiing --out /tmp/flops
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_crest import best_of_3, measure_flops, trunk_flops  # noqa: E402
from common import SHARED, otb_side_by_side  # noqa: E402  (benchmarks/ is on sys.path when run)


def head_step_flops(cells: int, channels: int = 512, reduced: int = 128) -> float:
    """FLOPs of one training step's reductions on a ``cells x cells`` map: two 3x3 convs, each a
    forward pass and a weight gradient (the inputs need no gradient)."""
    return 2 * 2 * (2.0 * 9 * channels * reduced * cells * cells)


def measure_head_step(sides: list[int]) -> dict:
    """CPU seconds (one thread) of one Adam step of DSLT's head on the stride-4 maps of a
    ``side`` px window, float32 and bfloat16 reductions, and the GFLOP/s of the reductions."""
    import torch

    from regtrack.core.losses import make_loss
    from regtrack.core.regression import train_head
    from regtrack.trackers.dslt import DSLTHead

    torch.set_num_threads(1)
    loss = make_loss("shrinkage", a=10.0, c=0.2, label_weight=torch.exp)
    out: dict = {}
    for side in sides:
        cells = -(-side // 4)
        kernel = (max(cells // 5, 1), max(cells // 9, 1))  # a 9w x 5h window's target
        f4, f5 = torch.randn(1, 512, cells, cells), torch.randn(1, 512, cells, cells)
        label = torch.rand(1, 1, cells - kernel[0] + 1, cells - kernel[1] + 1)
        for dtype in ("float32", "bfloat16"):
            head = DSLTHead(kernel, bf16=dtype == "bfloat16")
            if dtype == "bfloat16":  # stored as the tracker stores them for a bf16 head
                f4, f5 = (f.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
                          for f in (f4, f5))
            optimiser = torch.optim.Adam(head.param_groups(1e-8, 5e-4), betas=(0.6, 0.999))
            dt = best_of_3(lambda h=head, o=optimiser, x=(f4, f5), y=label: train_head(
                h, x, y, loss=loss, lr=1e-8, weight_decay=5e-4, max_iterations=1, optimiser=o))
            out[f"step_{side}_{dtype}_s"] = dt
            out[f"step_{side}_{dtype}_gflops"] = head_step_flops(cells) / dt / 1e9
            print(f"  head step {side:4d} px ({cells} cells, {head_step_flops(cells) / 1e9:5.1f} GFLOP): "
                  f"{dtype} {dt:.3f} s = {out[f'step_{side}_{dtype}_gflops']:.0f} GFLOP/s", flush=True)
        frame = 5 * trunk_flops(side, "conv5_3") + 14 * head_step_flops(cells)
        out[f"frame_{side}_gflop"] = frame / 1e9
        print(f"  a frame with the paper's settings at {side} px: 5 trunk passes (detection, 3 scales, "
              f"the update window) + 14 head steps = {frame / 1e9:.0f} GFLOP", flush=True)
        fast = trunk_flops(side, "conv5_3") + head_step_flops(cells)
        out[f"fast_frame_{side}_gflop"] = fast / 1e9
        print(f"  a frame of the fast configuration at {side} px: 1 trunk pass (detection) + 1 head step "
              f"= {fast / 1e9:.0f} GFLOP (+ DSST's scale filter, a few ms)", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    def add_arguments(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--flops", action="store_true", help="measure matmul, trunk and head-step throughput")
        ap.add_argument("--flops-sides", default="201,281", help="window sides for --flops")

    def before(args: argparse.Namespace, dataset, summary: dict) -> None:  # noqa: ANN001
        if args.flops:
            sides = [int(s) for s in args.flops_sides.split(",")]
            summary["flops"] = measure_flops(sides, [1], last="conv5_3")
            summary["flops"]["head"] = measure_head_step(sides)

    return otb_side_by_side(argv, description=__doc__, published=SHARED / "data/results/OTB100/CREST",
                            published_label="CREST (published)", out=Path("runs/bench_dslt"),
                            add_arguments=add_arguments, before=before)


if __name__ == "__main__":
    main()
