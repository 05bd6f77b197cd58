"""HCF on the OTB targets in ../shared/data/otb: AUC per target beside the authors' published HCF
(CF2, VGG-19) results and beside KCF run in the same benchmark, the speed of each configuration,
and what each option adds (fusion, scale, re-detection, backbone).

    OMP_NUM_THREADS=1 nice python benchmarks/bench_hcf.py --out runs/bench_hcf \
        --run kcf@KCF --run hcf:backbone=efficientnet_lite0@HCF-lite0 \
        --run hcf:backbone=efficientnet_lite0,fusion=coarse_to_fine@c2f --json runs/bench_hcf.json

Each ``--run NAME[:KEY=VALUE,...][@LABEL]`` is one configuration (``;`` separates the values of
a tuple: ``layer_weights=0.02;0.5;1``). Result files are written per target as the evaluation
runner writes them (:func:`regtrack.evaluation.results.write_result`: ``OUT/LABEL/SEQ.txt`` and
``SEQ_time.txt``, plus ``SEQ_cpu.txt``), so an interrupted benchmark resumes where it stopped, and
are scored by :mod:`regtrack.evaluation.report` with the official OTB protocol, the published
boxes with the same code. Configurations are interleaved target by target so that the speeds
compared were measured under the same machine load; frames are decoded before the clock starts;
fps = frames / (time in ``init`` + ``update``) per target, median over the targets, both in
wall-clock time and in CPU time of the process (single thread: CPU time is what the tracker costs
when the machine is shared; wall-clock is what it costs when it has a core to itself).

``--time-vgg N`` also times the VGG-19 path (random weights: the cost does not depend on them)
against EfficientNet-Lite0 on the first N frames of one target.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import SHARED, parse_run  # noqa: E402  (benchmarks/ is on sys.path when run)


def time_vgg(dataset, n_frames: int, target: str) -> dict:  # noqa: ANN001
    """Seconds per frame of HCF with VGG-19 (random weights) and with EfficientNet-Lite0."""
    from regtrack.datasets.sources import read_image
    from regtrack.trackers.base import create_tracker

    seq = dataset[target]
    frames = [read_image(p) for p in seq.frames[:n_frames]]
    out = {}
    for label, params in (("vgg19", {"backbone": "vgg19", "weights": "random"}),
                          ("efficientnet_lite0", {"backbone": "efficientnet_lite0"})):
        tr = create_tracker("hcf", params)
        tr.init(frames[0], seq.gt[0])
        t0, c0 = time.perf_counter(), time.process_time()
        for f in frames[1:]:
            tr.update(f)
        n = len(frames) - 1
        out[label] = {"s_per_frame": (time.perf_counter() - t0) / n,
                      "cpu_s_per_frame": (time.process_time() - c0) / n, "frames": n, "target": target}
        print(f"timing {label:20s} {out[label]['s_per_frame']:.3f} s/frame wall, "
              f"{out[label]['cpu_s_per_frame']:.3f} s/frame CPU ({n} frames of {target})", flush=True)
    return out


def run_target(tracker: str, params: dict, frames: list[np.ndarray], init: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track decoded ``frames`` from ``init``: boxes, per-frame wall and CPU seconds (``init``
    + ``update`` only)."""
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
    return boxes, wall, cpu


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", default=[], help="NAME[:KEY=VALUE,...][@LABEL]")
    ap.add_argument("--root", type=Path, default=SHARED / "data/otb")
    ap.add_argument("--annotations", type=Path, default=SHARED / "data/annotations/OTB100.json")
    ap.add_argument("--published", type=Path, default=SHARED / "data/results/OTB100/HCF",
                    help="the authors' HCF result files")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_hcf"), help="result files (resumable)")
    ap.add_argument("--sequences", help="comma-separated subset (default: every target under --root)")
    ap.add_argument("--time-vgg", type=int, default=0, metavar="N", help="time the VGG-19 path on N frames")
    ap.add_argument("--time-target", default="Girl")
    ap.add_argument("--json", type=Path, help="write all numbers here")
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
    if args.time_vgg:
        summary["timing"] = time_vgg(dataset, args.time_vgg, args.time_target)

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
            boxes, wall, cpu = run_target(tracker, params, frames, seq.gt[0])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "params.json").write_text(json.dumps({"tracker": tracker, "params": {
                k: str(v) for k, v in params.items()}}, indent=1))
            write_result(folder, n, boxes, wall)
            (folder / f"{n}_cpu.txt").write_text("\n".join(f"{t:.6f}" for t in cpu) + "\n")
            print(f"{label:24s} {n:13s} {len(frames) / wall.sum():6.1f} fps wall "
                  f"{len(frames) / cpu.sum():6.1f} fps CPU", flush=True)

    pub = evaluate_tracker(args.published, dataset, name="HCF (published, VGG-19)")
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
    head = f"{'target':13s} {'frames':>6s} {'HCF-pub':>7s} " + " ".join(f"{lb[:16]:>16s}" for lb in labels)
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
    print(f"{'HCF published (VGG-19)':26s} AUC {pub.overall.auc:.3f}  P@20 {pub.overall.precision:.3f}")
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
        summary["runs"][lb] = rec
        print(f"{lb[:26]:26s} AUC {e.auc:.3f}  P@20 {e.precision:.3f}  median fps {med:5.1f} wall, "
              f"{med_cpu:5.1f} CPU{extra}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1, default=float))
    return summary


if __name__ == "__main__":
    main()
