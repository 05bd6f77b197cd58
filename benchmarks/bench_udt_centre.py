"""How good is UDT's lazy centre-scale estimate? (``UDTParams.lazy_centre_scale``)

With ``scale_penalty`` > 1 the tracker runs only the two side crops through the net and estimates
the centre scale's peak from the larger side crop's features zoomed onto the centre window; it
runs the centre crop too only when that estimate reaches ``centre_check_margin`` (0.88) times the
best penalised side peak. Boxes are then exactly those of the full three-crop search as long as
the estimate never falls short of the true centre peak by ``1 - margin`` of that side peak. This
benchmark runs every target with the check forced on every frame (``centre_check_margin=0``)
and reports, per target: the estimate's largest relative error; its largest shortfall
``(exact - estimate) / side`` (the number that decides); how close the exact centre peak came
to winning (its peak over the best penalised side peak; the centre wins above 1); how many
frames the centre won; and how many frames the estimate would have sent through the net.

    python benchmarks/bench_udt_centre.py --weights ../shared/weights/udt/UDT_Unsupervised.mat \
        --json runs/centre.json
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_udt import load_targets
from common import SHARED


def run_target(args: tuple[dict, str | None]) -> dict:
    import torch

    from regtrack.datasets.sources import read_image
    from regtrack.trackers.base import create_tracker

    target, weights = args
    torch.set_num_threads(1)
    frames = [read_image(p) for p in target["frames"]]
    params = {"centre_check_margin": 0.0, "overlap_update": False, "fft_workers": 1}
    if weights:
        params["weights"] = weights
    tracker = create_tracker("udt", params)
    tracker.init(frames[0], target["init"])
    for frame in frames[1:]:
        tracker.update(frame)
    est, side, exact = np.array(tracker.centre_estimates, dtype=np.float64).T
    return {
        "name": target["name"],
        "frames": len(frames),
        "max_rel_error": float(np.max(np.abs(est - exact) / np.abs(exact))),
        # what decides safety: the check is skipped only if est < margin * side, so the boxes are
        # the full search's as long as (exact - est) / side < 1 - margin on every frame
        "max_underestimate": float(np.max((exact - est) / side)),
        "max_exact_over_side": float(np.max(exact / side)),
        "max_estimate_over_side": float(np.max(est / side)),
        "centre_won": int(np.sum(exact > side)),
        "checks_at_088": int(np.sum(est >= 0.88 * side)),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="UDT weights (default: regtrack's own)")
    ap.add_argument("--root", type=Path, default=SHARED / "data/otb")
    ap.add_argument("--annotations", type=Path, default=SHARED / "data/annotations/OTB100.json")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    targets = load_targets(args.root, args.annotations, args.only)
    print(f"{'target':14s} {'frames':>6s} {'max rel err':>11s} {'max under':>9s} {'exact/side':>10s} "
          f"{'est/side':>8s} {'centre won':>10s} {'checks':>6s}", flush=True)
    rows = []
    with ProcessPoolExecutor(args.processes) as pool:
        for row in pool.map(run_target, [(t, args.weights) for t in targets]):
            rows.append(row)
            print(f"{row['name']:14s} {row['frames']:6d} {row['max_rel_error']:11.4f} "
                  f"{row['max_underestimate']:9.4f} "
                  f"{row['max_exact_over_side']:10.3f} {row['max_estimate_over_side']:8.3f} "
                  f"{row['centre_won']:10d} {row['checks_at_088']:6d}", flush=True)
    print(f"all: max rel err {max(r['max_rel_error'] for r in rows):.4f}, "
          f"max under-estimate {max(r['max_underestimate'] for r in rows):.4f} of the side peak, "
          f"max exact/side {max(r['max_exact_over_side'] for r in rows):.3f}, "
          f"centre won {sum(r['centre_won'] for r in rows)} of {sum(r['frames'] - 1 for r in rows)} frames")
    if args.json:
        from regtrack.fileio import atomic_write

        atomic_write(args.json, json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
