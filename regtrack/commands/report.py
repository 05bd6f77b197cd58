"""``regtrack report RESULTS_DIR... --annotations OTB100.json``: score result folders with the
official OTB protocol, print the tables, and optionally write plots, JSON and CSV/Markdown."""

from __future__ import annotations

import argparse
import sys


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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

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
    return 0
