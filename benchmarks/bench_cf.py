"""Accuracy and speed of the correlation-filter baselines on the OTB sequences in ../shared.

Runs regtrack's KCF and DSST and OpenCV's KCF (``cv2.TrackerKCF``, C++, the reference for
speed) on every target whose frames are on disk, in the same process and interleaved sequence by
sequence (so that a busy machine slows every tracker alike), and prints per tracker:

* mean AUC (21-point, OTB protocol) and precision at 20 px, with regtrack's metrics
  (:mod:`regtrack.evaluation.metrics`, the one implementation), beside the published KCF and
  DSST results on the same targets (``../shared/data/results/OTB100/{KCF,DSST}``);
* fps = frames / seconds spent in ``init`` + ``update`` (frames are decoded beforehand, not
  timed), and the ratio to OpenCV's KCF in the same run.

Run single-threaded, niced, on a shared machine::

    OMP_NUM_THREADS=1 nice python benchmarks/bench_cf.py                  # all 23 targets
    OMP_NUM_THREADS=1 nice python benchmarks/bench_cf.py --sequences Dog,Girl --trackers kcf,opencv_kcf
    ... --out /tmp/cf_results   # also writes OUT/TRACKER/SEQ.txt for `regtrack report`

Results of a run are in ``benchmarks/RESULTS_cf.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("REGTRACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PUBLISHED = {"kcf": "KCF", "dsst": "DSST"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trackers", default="kcf,dsst,opencv_kcf",
                    help="comma-separated tracker names; NAME+KEY=VALUE+... overrides hyperparameters, "
                    "e.g. kcf,kcf+fft_friendly=0")
    ap.add_argument("--root", default=str(SHARED / "data" / "otb"))
    ap.add_argument("--annotations", default=str(SHARED / "data" / "annotations" / "OTB100.json"))
    ap.add_argument("--published", default=str(SHARED / "data" / "results" / "OTB100"))
    ap.add_argument("--sequences", help="comma-separated names (default: every target on disk)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each run this many times, keep the fastest")
    ap.add_argument("--out", help="write result files OUT/TRACKER/SEQ.txt (for `regtrack report`)")
    ap.add_argument("--json", help="write the numbers as JSON")
    args = ap.parse_args(argv)

    import cv2

    cv2.setNumThreads(1)
    from regtrack.datasets.otb import load_otb
    from regtrack.evaluation.metrics import aggregate, evaluate_sequence
    from regtrack.evaluation.results import align_result, find_result_files, read_result, write_result
    from regtrack.trackers.base import create_tracker

    dataset, _ = load_otb(args.annotations, args.root).present()
    if args.sequences:
        dataset = dataset.select(args.sequences.split(","))
    from regtrack.trackers.base import parse_overrides

    names = [t.strip() for t in args.trackers.split(",") if t.strip()]
    specs = {n: (n.split("+")[0], parse_overrides(n.split("+")[0], n.split("+")[1:])) for n in names}
    scores: dict[str, list] = {n: [] for n in names}
    seconds = dict.fromkeys(names, 0.0)
    frames_done = dict.fromkeys(names, 0)
    per_seq: dict[str, dict[str, dict[str, float]]] = {}
    for name in names:  # warm up: imports and compiled feature code are loaded once, not timed
        warm = create_tracker(*specs[name])
        img = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
        warm.init(img, np.array([60.0, 40.0, 30.0, 30.0]))
        warm.update(img)

    print(f"{len(dataset)} targets, trackers {', '.join(names)}; fps = frames / tracker seconds", flush=True)
    print(f"{'sequence':14s} {'frames':>6s}" + "".join(f" | {n} AUC, fps" for n in names))
    for seq in dataset:
        frames = [seq.image(i) for i in range(len(seq))]
        row = f"{seq.name:14s} {len(frames):6d}"
        per_seq[seq.name] = {}
        for name in names:
            best = np.inf
            for _ in range(max(1, args.repeat)):
                tracker = create_tracker(*specs[name])
                boxes = np.zeros((len(frames), 4))
                t0 = time.perf_counter()
                tracker.init(frames[0], seq.gt[0])
                boxes[0] = seq.gt[0]
                for i in range(1, len(frames)):
                    boxes[i] = tracker.update(frames[i])
                best = min(best, time.perf_counter() - t0)
            seconds[name] += best
            frames_done[name] += len(frames)
            score = evaluate_sequence(boxes, seq.gt, name=seq.name)
            scores[name].append(score)
            per_seq[seq.name][name] = {"auc": score.auc, "precision": score.precision,
                                       "fps": len(frames) / best}
            row += f" | {score.auc:.3f} {len(frames) / best:5.0f}"
            if args.out:
                write_result(Path(args.out) / name, seq.name, boxes)
        print(row, flush=True)

    # the published runs of the same targets, scored the same way
    published = {}
    for ours, folder in PUBLISHED.items():  # keyed by the base name: kcf+... rows get KCF's too
        path = Path(args.published) / folder
        if not path.is_dir():
            continue
        found, missing = find_result_files(path, dataset.names())
        pub = [evaluate_sequence(align_result(read_result(found[s.name]), s), s.gt, name=s.name)
               for s in dataset if s.name in found]
        published[ours] = (aggregate(pub), len(pub), missing)

    ref = "opencv_kcf" if "opencv_kcf" in names else None  # the reference for the speed ratio
    ref_fps = frames_done[ref] / seconds[ref] if ref else None
    print()
    print(f"| tracker | mean AUC | P@20 | published AUC / P@20 (same {len(dataset)} targets) | fps "
          "| fps / OpenCV KCF |")
    print("|---|---|---|---|---|---|")
    summary = {}
    for name in names:
        agg = aggregate(scores[name])
        fps = frames_done[name] / seconds[name]
        pub = published.get(specs[name][0])
        pub_text = f"{pub[0].auc:.3f} / {pub[0].precision:.3f}" if pub else "-"
        ratio = f"{fps / ref_fps:.2f}" if ref_fps else "-"
        print(f"| {name} | {agg.auc:.3f} | {agg.precision:.3f} | {pub_text} | {fps:.1f} | {ratio} |")
        summary[name] = {"auc": agg.auc, "precision": agg.precision, "fps": fps,
                         "fps_ratio_to_opencv_kcf": fps / ref_fps if ref_fps else None,
                         "published_auc": pub[0].auc if pub else None,
                         "published_precision": pub[0].precision if pub else None}
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"\n(machine: {os.cpu_count()} cores, OMP_NUM_THREADS={threads}, python {sys.version.split()[0]}, "
          f"opencv {cv2.__version__})")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "per_sequence": per_seq}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
