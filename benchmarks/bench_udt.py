"""UDT on the OTB targets in ../shared/data/otb: AUC per sequence beside the authors' published UDT
results, and speed (median fps over the targets) beside other trackers run in the same process.

    OMP_NUM_THREADS=1 nice python benchmarks/bench_udt.py \
        --run udt:weights=../shared/weights/udt/UDT_Unsupervised.mat --run kcf --json out.json

Each ``--run NAME[:KEY=VALUE,...][@LABEL]`` is one tracker configuration. Timing counts
``init`` + ``update`` only (frames are decoded before the clock starts). ``--threads`` sets torch's
default thread count (1); ``udt`` itself splits each frame over two threads (its
``overlap_update``) with one torch thread per net call. fps is given by the wall clock (what a
user sees) and by the process's CPU time, which adds up every thread (so a two-thread tracker
shows about half its wall-clock fps there).
Metrics come from :mod:`regtrack.evaluation.metrics` (the official OTB protocol);
the published boxes are scored with the same code.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import SHARED, parse_run  # noqa: E402  (benchmarks/ is on sys.path when run)

PUBLISHED_NAMES = {"Jogging-1": "Jogging.txt", "Jogging-2": "Jogging(2).txt"}


def load_targets(root: Path, annotations: Path, only: list[str] | None = None) -> list[dict]:
    data = json.loads(annotations.read_text())
    out = []
    for name, seq in data.items():
        folder = seq["img_names"][0].split("/")[0]
        if not (root / folder).is_dir() or (only and name not in only):
            continue
        out.append(
            {
                "name": name,
                "frames": [root / p for p in seq["img_names"]],
                "gt": np.asarray(seq["gt_rect"], dtype=np.float64),
                "init": np.asarray(seq["init_rect"], dtype=np.float64),
            }
        )
    return out


def published(name: str, n: int) -> np.ndarray | None:
    path = SHARED / "data/results/OTB100/UDT" / PUBLISHED_NAMES.get(name, f"{name}.txt")
    if not path.is_file():
        return None
    rows = [
        list(map(float, line.replace(",", " ").split()))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    boxes = np.asarray(rows)
    return boxes[-n:] if len(boxes) > n else boxes  # Tiger1-style extra leading rows


def run_one(
    name: str, params: dict, frames: list[np.ndarray], init: np.ndarray
) -> tuple[np.ndarray, float, float]:
    from regtrack.trackers.base import create_tracker

    tracker = create_tracker(name, params)
    boxes = [init]
    t0, c0 = time.perf_counter(), time.process_time()
    tracker.init(frames[0], init)
    for frame in frames[1:]:
        boxes.append(np.asarray(tracker.update(frame), dtype=np.float64))
    return np.vstack(boxes), time.perf_counter() - t0, time.process_time() - c0


def merge(paths: list[Path]) -> dict[str, dict[str, float]]:
    """Combine the ``--json`` files of several runs (same targets or not) into one table: per label,
    the mean AUC over every target it ran on and over the targets that every label ran on."""
    per: dict[str, dict[str, float]] = {}
    fps: dict[str, list[float]] = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        for target, row in data.get("per_sequence", data).items():  # full or .partial.json
            if "published" in row:
                per.setdefault("published UDT", {})[target] = row["published"]
            for label, cell in row.items():
                if isinstance(cell, dict):
                    per.setdefault(label, {})[target] = cell["auc"]
                    fps.setdefault(label, []).append(cell.get("cpu_fps", float("nan")))
    common = sorted(set.intersection(*(set(v) for v in per.values())))
    print(
        f"{'label':24s} {'targets':>7s} {'mean AUC':>8s}   {f'AUC on {len(common)} common':>18s}"
    )
    table = {}
    for label, aucs in per.items():
        all_mean = float(np.mean(list(aucs.values())))
        common_mean = float(np.mean([aucs[t] for t in common])) if common else float("nan")
        table[label] = {"targets": len(aucs), "mean_auc": all_mean, "common_auc": common_mean}
        print(f"{label:24s} {len(aucs):7d} {all_mean:8.3f}   {common_mean:18.3f}")
    print("common targets:", ", ".join(common))
    return table


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", help="NAME[:KEY=VALUE,...][@LABEL]")
    ap.add_argument("--merge", nargs="+", type=Path, help="only combine earlier --json files into one table")
    ap.add_argument("--root", type=Path, default=SHARED / "data/otb")
    ap.add_argument("--annotations", type=Path, default=SHARED / "data/annotations/OTB100.json")
    ap.add_argument("--only", nargs="*", help="target names (default: every target under --root)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write all numbers here")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge)
    if not args.run:
        ap.error("give at least one --run (or --merge)")

    import torch

    from regtrack.datasets.sources import read_image
    from regtrack.evaluation.metrics import aggregate, evaluate_sequence
    from regtrack.fileio import atomic_write

    torch.set_num_threads(args.threads)
    runs = [parse_run(s) for s in args.run]
    targets = load_targets(args.root, args.annotations, args.only)
    if not targets:
        raise SystemExit(f"no targets under {args.root}")
    scores: dict[str, list] = {label: [] for _, label, _ in runs}
    fps: dict[str, list[float]] = {label: [] for _, label, _ in runs}
    cpu_fps: dict[str, list[float]] = {label: [] for _, label, _ in runs}
    pub_scores = []
    per_seq: dict[str, dict] = {}
    labels = [label for _, label, _ in runs]
    print(
        f"{'target':14s} {'frames':>6s} {'published':>9s} "
        + " ".join(f"{lb[:18]:>18s}" for lb in labels)
        + "   (AUC; fps)",
        flush=True,
    )
    for t in targets:
        frames = [read_image(p) for p in t["frames"]]
        gt = t["gt"]
        row = {"frames": len(frames)}
        pub = published(t["name"], len(gt))
        if pub is not None:
            s = evaluate_sequence(pub[: len(gt)], gt, name=t["name"])
            pub_scores.append(s)
            row["published"] = s.auc
        cells = []
        for name, label, params in runs:
            boxes, secs, cpu = run_one(name, params, frames, t["init"])
            s = evaluate_sequence(boxes[: len(gt)], gt, name=t["name"])
            scores[label].append(s)
            fps[label].append(len(frames) / secs)
            cpu_fps[label].append(len(frames) / max(cpu, 1e-9))
            row[label] = {
                "auc": s.auc,
                "precision": s.precision,
                "fps": fps[label][-1],
                "cpu_fps": cpu_fps[label][-1],
            }
            cells.append(f"{s.auc:7.3f} {len(frames) / secs:6.1f}fps")
        per_seq[t["name"]] = row
        if args.json:  # partial results survive an interrupted run
            args.json.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(args.json.with_suffix(".partial.json"), json.dumps(per_seq, indent=1))
        print(
            f"{t['name']:14s} {len(frames):6d} {row.get('published', float('nan')):9.3f} "
            + " ".join(f"{c:>18s}" for c in cells),
            flush=True,
        )

    summary = {"targets": len(targets), "per_sequence": per_seq, "runs": {}}
    print("-" * 80)
    if pub_scores:
        d = aggregate(pub_scores)
        mean_auc = float(np.mean([s.auc for s in pub_scores]))
        summary["published"] = {"auc": d.auc, "mean_auc": mean_auc, "precision": d.precision}
        print(
            f"{'published UDT':28s} AUC {d.auc:.3f} (per-target mean {mean_auc:.3f})  P@20 {d.precision:.3f}"
        )
    for _, label, params in runs:
        d = aggregate(scores[label])
        mean_auc = float(np.mean([s.auc for s in scores[label]]))
        med = float(np.median(fps[label]))
        med_cpu = float(np.median(cpu_fps[label]))
        summary["runs"][label] = {
            "median_cpu_fps": med_cpu,
            "auc": d.auc,
            "mean_auc": mean_auc,
            "precision": d.precision,
            "median_fps": med,
            "params": {k: str(v) for k, v in params.items()},
        }
        print(
            f"{label[:28]:28s} AUC {d.auc:.3f} (per-target mean {mean_auc:.3f})"
            f"  P@20 {d.precision:.3f}"
            f"  median fps {med:.1f} (wall) {med_cpu:.1f} (CPU time)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.json, json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()
