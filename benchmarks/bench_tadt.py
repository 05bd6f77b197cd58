"""TADT on the OTB targets in ../shared/data/otb: AUC and precision per target beside the
authors' published TADT results, the selection ablations, the fast configuration, the speed of
each and where TADT's time goes.

    OMP_NUM_THREADS=1 nice python benchmarks/bench_tadt.py --out runs/bench_tadt \
        --run tadt@TADT --run tadt:backbone_dtype=bfloat16@TADT-bf16 \
        --run tadt:selection=none,backbone_dtype=bfloat16@none-bf16 \
        --run tadt:selection=regression,backbone_dtype=bfloat16@regression-bf16 \
        --run tadt:selection=ranking,backbone_dtype=bfloat16@ranking-bf16 \
        --flops --json runs/bench_tadt.json

``--run`` specs, resuming, interleaving and the fps columns are those of ``bench_hcf.py``
(:func:`common.otb_side_by_side`); two processes with disjoint ``--sequences`` may fill one
``--out`` side by side, and a last run without ``--sequences`` prints the whole table. TADT keeps
its CPU seconds per stage (backbone, first-frame selection, matching); they are saved per target
and printed per configuration. ``--flops`` first measures this machine's matmul throughput and
TADT's network (VGG-16 conv1_1 .. conv4_3 without pool3 on its 180-px window, all 512 conv4_3
channels and only the ~300 selected), and how much of the matmul throughput it reaches.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_crest import measure_flops, trunk_flops  # noqa: E402  (benchmarks/ is on sys.path when run)
from common import SHARED, otb_side_by_side  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    def add_arguments(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--flops", action="store_true", help="measure matmul and network throughput first")
        ap.add_argument("--flops-sides", default="180", help="window sides for --flops (TADT: 180)")

    def before(args: argparse.Namespace, dataset, summary: dict) -> None:  # noqa: ANN001
        if args.flops:
            sides = [int(s) for s in args.flops_sides.split(",")]
            summary["flops"] = measure_flops(sides, [1, 2])
            for side in sides:
                # conv4_3 with 300 of its 512 outputs: the pruned network TADT runs after frame 1
                pruned = trunk_flops(side) - 2.0 * 9 * 512 * 212 * (-(-side // 4)) ** 2
                summary["flops"][f"pruned_{side}_gflop"] = pruned / 1e9
                print(f"  {side} px, conv4_3 pruned to 300 channels: {pruned / 1e9:.1f} GFLOP", flush=True)

    return otb_side_by_side(argv, description=__doc__, published=SHARED / "data/results/OTB100/TADT",
                            published_label="TADT (published)", out=Path("runs/bench_tadt"),
                            add_arguments=add_arguments, before=before)


if __name__ == "__main__":
    main()
