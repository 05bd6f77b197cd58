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
import time
from pathlib import Path

from common import SHARED, otb_side_by_side  # noqa: E402  (benchmarks/ is on sys.path when run)


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


def main(argv: list[str] | None = None) -> dict:
    def add_arguments(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--time-vgg", type=int, default=0, metavar="N",
                        help="time the VGG-19 path on N frames")
        ap.add_argument("--time-target", default="Girl")

    def before(args: argparse.Namespace, dataset, summary: dict) -> None:  # noqa: ANN001
        if args.time_vgg:
            summary["timing"] = time_vgg(dataset, args.time_vgg, args.time_target)

    return otb_side_by_side(argv, description=__doc__, published=SHARED / "data/results/OTB100/HCF",
                            published_label="HCF (published, VGG-19)", out=Path("runs/bench_hcf"),
                            add_arguments=add_arguments, before=before)

if __name__ == "__main__":
    main()
