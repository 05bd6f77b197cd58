"""``regtrack demo``: track the built-in synthetic clip with the default tracker, no data needed.

Writes ``demo.mp4`` (annotated), ``success_overall.png`` / ``precision_overall.png``,
``boxes.txt`` and ``groundtruth_rect.txt`` into ``--out`` (default ``regtrack-demo/``), and
prints the AUC and the speed. See :mod:`regtrack.demo`.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from regtrack.commands.track import DEFAULT_TRACKER

    p = subparsers.add_parser(
        "demo", help="track a built-in synthetic clip (no data needed): video, plot, AUC and fps",
        description="Render a short synthetic clip (a textured target over a textured background, going "
        "through illumination change, heavy occlusion, motion blur, a small target and a large scale "
        "change), track it, and write the annotated video and the success plot.")
    p.add_argument("--out", default="regtrack-demo", metavar="DIR",
                   help="output folder (default regtrack-demo)")
    p.add_argument("--tracker", default=DEFAULT_TRACKER, metavar="NAME",
                   help=f"tracker name (default {DEFAULT_TRACKER})")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a tracker hyperparameter (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the clip (default 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time

    from regtrack.demo import run_demo
    from regtrack.fileio import check_output_path
    from regtrack.trackers.base import parse_overrides

    start = time.perf_counter()
    params = parse_overrides(args.tracker, args.param)
    if args.seed < 0:
        from regtrack.errors import RegtrackError

        raise RegtrackError(f"--seed {args.seed} is negative", fix="give 0 or a positive number")
    check_output_path(args.out, option="--out", folder=True)
    result = run_demo(args.out, args.tracker, args.seed, params)
    print(f"{args.tracker} on the demo clip: AUC {result.auc:.3f}, precision@20px {result.precision:.3f}, "
          f"{result.fps:.1f} fps (tracker only)")
    print(f"video: {result.video}")
    for p in result.plots:
        print(f"plot:  {p}")
    print(f"boxes: {result.boxes}  ({time.perf_counter() - start:.1f} s in all)")
    return 0
