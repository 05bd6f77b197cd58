"""``regtrack eval --tracker NAME --root DATA --annotations OTB100.json --out RESULTS_DIR``: run a
tracker over a dataset (resumable, parallel, Ray), then score it with the OTB protocol."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="run a tracker over a dataset and score it (resumable; --workers / --ray)",
        description="Run a tracker over every sequence of a dataset whose frames are on disk, writing "
        "OUT/NAME/SEQ.txt (comma x,y,w,h) + SEQ_time.txt atomically and OUT/NAME/params.json. Run it "
        "again to resume: finished sequences are skipped. Then print the OTB scores.")
    p.add_argument("--tracker", required=True, metavar="NAME", help="registered tracker, e.g. static")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyperparameter (repeatable), e.g. --param weights=PATH")
    p.add_argument("--root", required=True, metavar="DIR", help="dataset folder (OTB layout: SEQ/img/*.jpg)")
    p.add_argument("--annotations", metavar="FILE",
                   help="dataset description (OTB100.json); without it, --root is scanned for sequences")
    p.add_argument("--anno-dir", metavar="DIR|FILE",
                   help="official tb100_anno/ (attributes, TRE init-omit) or an otb_attributes.json")
    p.add_argument("--subset", metavar="NAME", help="OTB subset: OTB2013, TB50, TB100")
    p.add_argument("--out", required=True, metavar="RESULTS_DIR", help="results go to RESULTS_DIR/NAME/")
    p.add_argument("--name", metavar="NAME", help="results folder name (default: the tracker's name)")
    p.add_argument("--sequences", metavar="A,B", help="only these sequences")
    p.add_argument("--eval-type", choices=("ope", "tre", "sre"), default="ope",
                   help="OPE (default), TRE (20 segments) or SRE (12 perturbed starts)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="parallel processes (default 1)")
    p.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster ('auto', 'HOST:PORT', or 'local')")
    p.add_argument("--invalid", choices=("matlab", "pytracking", "exclude"), default="matlab",
                   help="invalid ground truth handling when scoring (default: matlab)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from regtrack.datasets.folders import load_dataset
    from regtrack.errors import RegtrackError
    from regtrack.evaluation.runner import evaluate_runs, run_dataset
    from regtrack.fileio import check_output_path
    from regtrack.trackers.base import parse_overrides

    if args.workers < 1:
        raise RegtrackError(f"--workers {args.workers} must be at least 1")
    params = parse_overrides(args.tracker, args.param)
    check_output_path(args.out, option="--out", folder=True)
    dataset = load_dataset(args.root, args.annotations, subset=args.subset, official_anno=args.anno_dir)
    if args.sequences:
        dataset = dataset.select([s for s in args.sequences.split(",") if s.strip()])
    else:
        for folder, problem in dataset.broken.items():
            print(f"regtrack: note: {folder} left out: {problem}", file=sys.stderr)
    present, absent = dataset.present()
    for note in dataset.notes:
        print(f"regtrack: note: {note}", file=sys.stderr)
    if absent:
        shown = ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else "")
        print(f"regtrack: note: {len(absent)} of {len(dataset)} sequences have no frames under {args.root} "
              f"and are left out: {shown}", file=sys.stderr)
    if not len(present):
        raise RegtrackError(f"none of the {len(dataset)} sequences has its frames here", path=args.root,
                            fix="--root should hold SEQ/img/0001.jpg ... as the annotations name them")
    for seq in present:
        missing = seq.missing_frames()
        if missing:
            raise RegtrackError(f"image not found ({len(missing)} of the {len(seq)} frames of {seq.name} "
                                "are missing)", path=missing[0],
                                fix="restore the frames, or leave the sequence out with --sequences")
    print(f"{args.tracker}: {len(present)} sequence(s) of {dataset.name}, {args.eval_type.upper()}",
          file=sys.stderr)
    report = run_dataset(args.tracker, present, args.out, params=params, eval_type=args.eval_type,
                         workers=args.workers, ray_address=args.ray, name=args.name,
                         progress=not args.no_progress)
    print(report.summary())
    for stem, msg in report.first_frame_error.items():
        print(f"regtrack: note: {stem}: first tracker error: {msg}", file=sys.stderr)
    if report.failed and not report.done and not report.skipped:
        # Nothing finished: the cause is the tracker's or its weights', not the data; say it first.
        first = next(iter(report.failed.items()))
        raise RegtrackError(f"every run failed; first, {first[0]}: {first[1]}",
                            fix="fix it and run the same command again")
    if args.eval_type == "ope":
        from regtrack.evaluation.report import evaluate_tracker

        finished = [n for n in present.names() if (report.out_dir / f"{n}.txt").is_file()]
        done = present.select(finished)
        if finished:
            e = evaluate_tracker(report.out_dir, done, invalid=args.invalid, min_fraction=0.0)
            print(f"{report.out_dir.name} on {len(done)} sequence(s): AUC {e.overall.auc:.3f}  "
                  f"P@20 {e.overall.precision:.3f}  norm P {e.overall.norm_precision:.3f}")
    else:
        s = evaluate_runs(report.out_dir, present, invalid=args.invalid)
        print(f"{report.out_dir.name} on {s['sequences']} sequence(s): AUC {s['auc']:.3f}  "
              f"P@20 {s['precision']:.3f}")
    if report.failed:
        first = next(iter(report.failed.items()))
        raise RegtrackError(f"{len(report.failed)} run(s) failed; first, {first[0]}: {first[1]}",
                            fix="fix it and run the same command again (finished sequences are kept)")
    return 0
