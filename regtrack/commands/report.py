"""``regtrack report RESULTS_DIR... --annotations OTB100.json``: score result folders with the
official OTB protocol, print the tables, and optionally write plots, JSON and CSV/Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from regtrack.errors import RegtrackError

CLIP_FRAMES = 60  # two seconds at OTB's 30 fps: enough to see who holds the target

if TYPE_CHECKING:
    from regtrack.datasets.base import Dataset
    from regtrack.evaluation.report import TrackerEvaluation


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="score tracking results with the exact OTB protocol (tables, plots, JSON)",
        description="Score result folders (one folder per tracker in each RESULTS_DIR; OTB-toolkit .mat, "
        "comma/tab/space txt) against a dataset with the official OTB protocol: success AUC (21-point "
        "mean, IoU > t), precision at 20 px, normalised precision, overall and per attribute.")
    p.add_argument("results", nargs="+", metavar="RESULTS_DIR", help="folder of tracker folders")
    p.add_argument("--annotations", metavar="FILE",
                   help="dataset description (OTB100.json); without it, --root is scanned for sequences")
    p.add_argument("--root", metavar="DIR", help="dataset folder (only needed without --annotations)")
    p.add_argument("--anno-dir", metavar="DIR|FILE",
                   help="attributes from the official tb100_anno/ (or cvpr13_anno/) folder, "
                   "or from pytracking's otb_attributes.json")
    p.add_argument("--subset", metavar="NAME", help="OTB subset: OTB2013 (cvpr13), TB50, TB100")
    p.add_argument("--sequences", metavar="A,B", help="comma-separated sequence names to score")
    p.add_argument("--eval-type", choices=("ope", "tre", "sre"), default="ope",
                   help="OPE (default); TRE / SRE read results_TRE / results_SRE .mat files (or regtrack's "
                   "SEQ/runs.json) and pool the frames of all runs")
    p.add_argument("--invalid", choices=("matlab", "pytracking", "exclude"), default="matlab",
                   help="invalid ground-truth frames: pass precision (matlab, default), fail it "
                   "(pytracking), or leave the denominator (exclude)")
    p.add_argument("--plots", metavar="DIR", help="write success/precision plots (PNG + SVG) here "
                   "(default: plots/ beside the --json file, when --json is given)")
    p.add_argument("--no-plots", action="store_true", help="draw no plots")
    p.add_argument("--no-attribute-plots", action="store_true", help="only the overall plots")
    p.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    p.add_argument("--tables", metavar="DIR", help="write report.md, report.json and CSV tables here")
    p.add_argument("--html", metavar="DIR", help="write one page, DIR/index.html, that opens from disk: the "
                   "plots overall and per attribute, the ranked tables, a sortable per-sequence table")
    p.add_argument("--videos", action="store_true", help="with --html: a short clip per sequence with every "
                   "tracker's box (needs the frames: --root DIR)")
    p.add_argument("--video-frames", type=int, default=CLIP_FRAMES, metavar="N",
                   help=f"frames per clip (default {CLIP_FRAMES}, from the first)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from regtrack.datasets.folders import load_dataset
    from regtrack.evaluation.report import (
        discover_trackers,
        evaluate_tracker,
        markdown,
        to_json,
        write_tables,
    )
    from regtrack.fileio import atomic_write, check_output_path

    # Every output is checked before any scoring, so a bad path costs nothing.
    plots = args.plots or (str(Path(args.json).parent / "plots") if args.json else None)
    if args.json:
        check_output_path(args.json, option="--json")
    if args.tables:
        check_output_path(args.tables, option="--tables", folder=True)
    if plots and not args.no_plots:
        check_output_path(plots, option="--plots", folder=True)
    dataset = load_dataset(args.root, args.annotations, subset=args.subset, official_anno=args.anno_dir)
    if args.sequences:
        dataset = dataset.select([s for s in args.sequences.split(",") if s.strip()])
    trackers = discover_trackers(args.results)
    evals = []
    for name, folder in trackers.items():
        e = evaluate_tracker(folder, dataset, invalid=args.invalid, name=name, eval_type=args.eval_type)
        if e.missing:
            shown = ", ".join(e.missing[:8]) + (" ..." if len(e.missing) > 8 else "")
            print(f"regtrack: note: {name}: no results for {len(e.missing)} sequence(s) ({shown}); "
                  f"averaged over the other {e.overall.n_sequences}, as the OTB toolkit does",
                  file=sys.stderr)
        evals.append(e)
    print(markdown(evals, dataset, args.eval_type.upper()).split("\n### Per sequence")[0])
    print(f"(invalid ground truth: {args.invalid}; AUC = mean of the 21-point success curve)")
    if args.json:
        atomic_write(args.json, json.dumps(to_json(evals, dataset, args.invalid), indent=1))
        print(f"wrote {args.json}")
    if args.tables:
        write_tables(evals, dataset, args.tables, args.invalid)
        print(f"wrote tables to {args.tables}")
    if plots and not args.no_plots:
        from regtrack.evaluation.plots import draw_plots

        files = draw_plots(evals, dataset, plots, attributes=not args.no_attribute_plots,
                           eval_type=args.eval_type.upper())
        print(f"wrote {len(files)} plot files (PNG + SVG) to {plots}")
    if args.html:
        from regtrack.evaluation.report import write_html

        clips, colours = write_clips(evals, dataset, Path(args.html), args.video_frames) if args.videos \
            else ({}, {})
        page = write_html(evals, dataset, args.html, args.invalid, args.eval_type.upper(), clips, colours)
        print(f"wrote {page} ({len(clips)} clips)")
    elif args.videos:
        raise RegtrackError("--videos goes with --html DIR", fix="add --html DIR")
    return 0


def write_clips(evals: list[TrackerEvaluation], dataset: Dataset, out_dir: Path, max_frames: int
                ) -> tuple[dict[str, str], dict[str, str]]:
    """One clip per sequence whose frames are on disk, every tracker's box (best AUC first, in the
    overlay's colours) and the ground truth drawn: ``(sequence -> path relative to out_dir,
    name -> CSS colour)``."""
    from regtrack.evaluation.report import ranked, result_boxes
    from regtrack.viz.clips import write_clip
    from regtrack.viz.overlay import PALETTE

    if max_frames < 1:
        raise RegtrackError("--video-frames must be at least 1")
    order = ranked(evals)
    names = [e.name for e in order] + ["ground truth"]
    colours = {n: "#{:02x}{:02x}{:02x}".format(*PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)}
    present, absent = dataset.present()
    if not len(present):
        raise RegtrackError(f"no frames on disk for the {len(dataset)} sequences of {dataset.name}",
                            path=dataset.root, fix="give the folder that holds the sequences: --root DIR")
    clips = {}
    for n, seq in present.sequences.items():
        boxes = {e.name: result_boxes(e.files[n], seq) for e in order if n in e.files}
        path = write_clip(out_dir / "clips" / f"{n}.webp", seq.images(), boxes, seq.gt, max_frames=max_frames)
        clips[n] = path.relative_to(out_dir).as_posix()
    if absent:
        print(f"regtrack: note: no frames on disk for {len(absent)} sequence(s); no clip for them",
              file=sys.stderr)
    return clips, colours
