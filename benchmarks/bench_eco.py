"""ECO-HC and UDT+ (regtrack's ECO framework, :mod:`regtrack.core.eco`) on the OTB targets in
../shared/data/otb, beside the authors' published UDT+ results and beside KCF, UDT and OpenCV's
CSRT run in the same benchmark:

    OMP_NUM_THREADS=1 REGTRACK_COLORNAMES=../shared/data/features/w2crs.mat nice -n 5 \
        python benchmarks/bench_eco.py --out runs/bench_eco --run kcf@KCF --run udt@UDT \
        --run opencv_csrt@CSRT --run eco_hc@ECO-HC \
        --run udtplus:weights=../shared/weights/udt/UDT_Unsupervised.mat@UDT+ --json runs/bench_eco.json

See ``bench_hcf.py`` for the ``--run`` syntax and how results and speeds are measured. Besides
the median fps, each run's slowest frame after the first is printed (the frames that run the
conjugate gradient are the slow ones), with the tracker's seconds per stage.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from common import SHARED, otb_side_by_side  # noqa: E402  (benchmarks/ is on sys.path when run)


def slowest_frames(out: Path, labels: list[str]) -> dict:
    """The slowest tracked frame (after the first, which learns the projection) of each run over
    all targets, in ms of wall-clock and of CPU time (on a shared machine the CPU time is what
    the frame costs; wall-clock adds the time other processes held the cores)."""
    worst = {}
    for label in labels:
        rec = {}
        for kind, pattern in (("wall", "*_time.txt"), ("cpu", "*_cpu.txt")):
            times = [np.loadtxt(f, ndmin=1)[1:] for f in sorted((out / label).glob(pattern))]
            if times:
                all_t = np.concatenate(times) * 1e3
                rec[f"max_{kind}_ms"] = float(all_t.max())
                rec[f"p99_{kind}_ms"] = float(np.percentile(all_t, 99))
                rec[f"over_100ms_{kind}"] = int((all_t > 100).sum())
        if rec:
            worst[label] = rec
            print(f"{label:16s} slowest frame " + ", ".join(
                f"{kind} {rec[f'max_{kind}_ms']:.0f} ms (99th pct {rec[f'p99_{kind}_ms']:.0f}, "
                f"{rec[f'over_100ms_{kind}']} frames > 100 ms)" for kind in ("cpu", "wall")
                if f"max_{kind}_ms" in rec), flush=True)
    return worst


def main(argv: list[str] | None = None) -> dict:
    os.environ.setdefault("REGTRACK_COLORNAMES", str(SHARED / "data/features/w2crs.mat"))
    seen: dict = {}

    def before(args: argparse.Namespace, dataset, summary: dict) -> None:  # noqa: ANN001
        seen["args"] = args

    summary = otb_side_by_side(argv, description=__doc__, published=SHARED / "data/results/OTB100/UDTplus",
                               published_label="UDT+ (published)", out=Path("runs/bench_eco"), before=before)
    args = seen["args"]
    from common import parse_run

    summary["slowest_frames"] = slowest_frames(args.out, [parse_run(r)[1] for r in args.run])
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=float))
    return summary


if __name__ == "__main__":
    main()
