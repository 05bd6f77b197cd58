"""What the benchmark scripts share: where ``../shared`` is, the ``--run`` spec parser, and the
side-by-side OTB benchmark (:func:`otb_side_by_side`) that ``bench_hcf.py`` and ``bench_crest.py``
run with their own defaults."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from regtrack.datasets.base import Dataset

SHARED = Path(os.environ.get("REGTRACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def parse_run(spec: str) -> tuple[str, str, dict]:
    """``NAME[:KEY=VALUE,...][@LABEL]`` -> ``(tracker name, label, typed overrides)``.
    Tuple values use ``;`` inside a spec (``layer_weights=0.02;0.5;1``)."""
    from regtrack.trackers.base import parse_overrides

    label = None
    if "@" in spec:
        spec, label = spec.split("@", 1)
    name, _, rest = spec.partition(":")
    pairs = [p.replace(";", ",") for p in rest.split(",") if p] if rest else []
    label = label or spec.replace(":", "_").replace(",", "_").replace("=", "-")
    return name, label, parse_overrides(name, pairs)


def run_target(tracker: str, params: dict, frames: list[np.ndarray], init: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Track decoded ``frames`` from ``init``: boxes, per-frame wall and CPU seconds (``init``
    + ``update`` only), and the tracker's own seconds per stage (its ``timings``, if it keeps
    them)."""
    from regtrack.trackers.base import create_tracker

    trk = create_tracker(tracker, params)
    n = len(frames)
    boxes, wall, cpu = np.zeros((n, 4)), np.zeros(n), np.zeros(n)
    boxes[0] = init
    for i, frame in enumerate(frames):
        t0, c0 = time.perf_counter(), time.process_time()
        if i == 0:
            trk.init(frame, init.copy())
        else:
            boxes[i] = np.asarray(trk.update(frame), dtype=np.float64)
        wall[i], cpu[i] = time.perf_counter() - t0, time.process_time() - c0
    return boxes, wall, cpu, dict(getattr(trk, "timings", {}))


def otb_side_by_side(argv: list[str] | None, *, description: str, published: Path, published_label: str,
                     out: Path, add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                     before: Callable[[argparse.Namespace, Dataset, dict], None] | None = None) -> dict:
    """The benchmark every ``bench_*.py`` on OTB runs: each ``--run`` configuration on every target
    under ``--root``, beside the authors' published boxes (``published``), scored with the
    official protocol, with speeds; see ``bench_hcf.py``'s docstring for the details.
    ``add_arguments`` adds a script's own options; ``before(args, dataset, summary)`` runs after
    the data is loaded and before tracking (e.g. a timing study). A tracker with a ``timings``
    dict (seconds per stage) gets it saved per target (``SEQ_stages.json``) and summed in the
    summary."""
    ap = argparse.ArgumentParser(description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", default=[], help="NAME[:KEY=VALUE,...][@LABEL]")
    ap.add_argument("--root", type=Path, default=SHARED / "data/otb")
    ap.add_argument("--annotations", type=Path, default=SHARED / "data/annotations/OTB100.json")
    ap.add_argument("--published", type=Path, default=published, help="the authors' result files")
    ap.add_argument("--out", type=Path, default=out, help="result files (resumable)")
    ap.add_argument("--sequences", help="comma-separated subset (default: every target under --root)")
    ap.add_argument("--json", type=Path, help="write all numbers here")
    if add_arguments is not None:
        add_arguments(ap)
    args = ap.parse_args(argv)

    import torch

    from regtrack.datasets.base import Dataset
    from regtrack.datasets.folders import load_dataset
    from regtrack.datasets.sources import read_image
    from regtrack.evaluation.report import evaluate_tracker
    from regtrack.evaluation.results import read_times, write_result

    torch.set_num_threads(1)
    full = load_dataset(args.root, args.annotations)
    if args.sequences:
        names = [full.resolve(n) or n for n in args.sequences.split(",")]
    else:
        names = [n for n in full.names() if full.sequences[n].is_present()]
    dataset = Dataset(full.name, {n: full.sequences[n] for n in names}, full.attributes,
                      full.attribute_names, full.root)
    runs = [parse_run(s) for s in args.run]
    summary: dict = {"targets": names, "runs": {}, "per_sequence": {}}
    if before is not None:
        before(args, dataset, summary)

    # interleaved, target by target, so that speeds are compared under the same load
    for n in names:
        seq = dataset.sequences[n]
        frames = None
        for tracker, label, params in runs:
            folder = args.out / label
            if (folder / f"{n}.txt").is_file() and (folder / f"{n}_cpu.txt").is_file():
                continue  # resume
            if frames is None:
                frames = [read_image(p) for p in seq.frames]  # decoded before any clock starts
            boxes, wall, cpu, stages = run_target(tracker, params, frames, seq.gt[0])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "params.json").write_text(json.dumps({"tracker": tracker, "params": {
                k: str(v) for k, v in params.items()}}, indent=1))
            write_result(folder, n, boxes, wall)
            (folder / f"{n}_cpu.txt").write_text("\n".join(f"{t:.6f}" for t in cpu) + "\n")
            if stages:
                (folder / f"{n}_stages.json").write_text(json.dumps(stages, indent=1))
            print(f"{label:24s} {n:13s} {len(frames) / wall.sum():6.1f} fps wall "
                  f"{len(frames) / cpu.sum():6.1f} fps CPU", flush=True)

    pub = evaluate_tracker(args.published, dataset, name=published_label)
    evals = {label: evaluate_tracker(args.out / label, dataset, name=label) for _, label, _ in runs}
    fps: dict[str, dict[str, float]] = {}
    cpu_fps: dict[str, dict[str, float]] = {}
    for _, label, _ in runs:
        fps[label], cpu_fps[label] = {}, {}
        for n in names:
            t = read_times(args.out / label, n)
            if t is not None and t.sum() > 0:
                fps[label][n] = len(t) / float(t.sum())
            c = args.out / label / f"{n}_cpu.txt"
            if c.is_file():
                ct = np.loadtxt(c)
                cpu_fps[label][n] = ct.size / float(ct.sum())

    labels = [label for _, label, _ in runs]
    head = f"{'target':13s} {'frames':>6s} {'pub':>7s} " + " ".join(f"{lb[:16]:>16s}" for lb in labels)
    print(head + "   (AUC, fps wall-clock)")
    for n in names:
        seq = dataset.sequences[n]
        p = pub.per_sequence.get(n)
        cells = []
        row: dict = {"frames": len(seq.gt), "published": p.auc if p else None}
        for lb in labels:
            s = evals[lb].per_sequence.get(n)
            f = fps[lb].get(n, float("nan"))
            row[lb] = {"auc": s.auc if s else None, "precision": s.precision if s else None, "fps": f}
            cells.append(f"{s.auc if s else float('nan'):6.3f} {f:6.1f}fps")
        summary["per_sequence"][n] = row
        pub_auc = p.auc if p else float("nan")
        print(f"{n:13s} {len(seq.gt):6d} {pub_auc:7.3f} " + " ".join(f"{c:>16s}" for c in cells))
    print("-" * len(head))
    mean_pub = float(np.mean([s.auc for s in pub.per_sequence.values()]))
    summary["published"] = {"auc": pub.overall.auc, "mean_auc": mean_pub, "precision": pub.overall.precision}
    print(f"{published_label[:26]:26s} AUC {pub.overall.auc:.3f}  P@20 {pub.overall.precision:.3f}"
          f"  (mean of per-target AUC {mean_pub:.3f})")
    kcf_auc = next((evals[lb].overall.auc for t, lb, _ in runs if t == "kcf"), None)
    for tracker, lb, params in runs:
        e = evals[lb].overall
        med = float(np.median(list(fps[lb].values()))) if fps[lb] else float("nan")
        med_cpu = float(np.median(list(cpu_fps[lb].values()))) if cpu_fps[lb] else float("nan")
        rec = {"tracker": tracker, "params": {k: str(v) for k, v in params.items()}, "auc": e.auc,
               "precision": e.precision, "median_fps": med, "median_fps_cpu": med_cpu,
               "n": e.n_sequences, "vs_published": e.auc - pub.overall.auc,
               "per_sequence_fps": fps[lb], "per_sequence_fps_cpu": cpu_fps[lb]}
        extra = f"  vs published {e.auc - pub.overall.auc:+.3f}"
        if kcf_auc is not None and tracker != "kcf":
            rec["vs_kcf"] = e.auc - kcf_auc
            extra += f"  vs KCF {e.auc - kcf_auc:+.3f}"
        stage_files = sorted((args.out / lb).glob("*_stages.json"))
        if stage_files:
            totals: dict[str, float] = {}
            for f in stage_files:
                for k, v in json.loads(f.read_text()).items():
                    totals[k] = totals.get(k, 0.0) + float(v)
            frames_total = sum(len(dataset.sequences[f.name[:-len("_stages.json")]].gt) for f in stage_files
                               if f.name[:-len("_stages.json")] in dataset.sequences)
            rec["seconds_per_frame_by_stage"] = {k: v / max(frames_total, 1) for k, v in totals.items()}
        summary["runs"][lb] = rec
        print(f"{lb[:26]:26s} AUC {e.auc:.3f}  P@20 {e.precision:.3f}  median fps {med:5.1f} wall, "
              f"{med_cpu:5.1f} CPU{extra}")
        if "seconds_per_frame_by_stage" in rec:
            print(f"{'':26s} s/frame by stage: " + ", ".join(
                f"{k} {v:.3f}" for k, v in rec["seconds_per_frame_by_stage"].items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1, default=float))
    return summary
