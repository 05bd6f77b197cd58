"""Benchmark: scoring the authors' raw OTB-100 results (8 trackers x 100 targets, ~470 000 boxes).

    python benchmarks/bench_eval.py [SHARED_DIR]

Prints the time to load the annotations, to read + align + score each tracker, and the AUC / P@20
it finds (which must match the published numbers; see tests/test_report.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from regtrack.datasets.otb import load_otb
from regtrack.evaluation.report import discover_trackers, evaluate_tracker


def main(shared: Path) -> None:
    t0 = time.perf_counter()
    ds = load_otb(shared / "data/annotations/OTB100.json")
    print(f"load OTB100.json: {time.perf_counter() - t0:.2f} s ({len(ds)} targets)")
    total = 0.0
    for name, folder in discover_trackers([shared / "data/results/OTB100"]).items():
        t = time.perf_counter()
        e = evaluate_tracker(folder, ds, name=name)
        dt = time.perf_counter() - t
        total += dt
        frames = sum(s.n_frames for s in e.per_sequence.values())
        print(f"{name:8s} AUC {e.overall.auc:.3f} P@20 {e.overall.precision:.3f}  {dt:.2f} s "
              f"({frames / dt:,.0f} frames/s)")
    print(f"all trackers: {total:.2f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared")
