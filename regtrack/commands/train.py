"""``regtrack train udt``: train the UDT network without labels (or with them: ``--supervised``).

    regtrack train udt --videos ../shared/data/train --out udt_mine.pth --epochs 50
    regtrack train udt --videos ../shared/data/train --out udt_mine.pth --resume   # after an interrupt
    regtrack track --tracker udt --param weights=udt_mine.pth ...

Writes ``OUT`` (weights, ~40 KB, loadable by ``--param weights=OUT``), ``OUT.ckpt`` (resumable
state, every epoch, atomically), ``OUT.loss.png`` (loss curve) and ``OUT.json`` (history).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a tracker's network (UDT: unsupervised, from raw videos)",
        description=__doc__.replace("``", ""),  # the module's reST markup, as plain text
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", choices=["udt"], help="what to train")
    p.add_argument(
        "--videos",
        required=True,
        type=Path,
        help="folder of video folders (each with img/; groundtruth_rect.txt only for --supervised)",
    )
    p.add_argument("--out", required=True, type=Path, help="weights file to write (.pth)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 50, the paper's)")
    p.add_argument(
        "--pairs-per-epoch",
        type=int,
        default=None,
        help="training triplets per epoch (default: one per usable frame)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="default 32")
    p.add_argument(
        "--lr",
        type=float,
        nargs=2,
        metavar=("START", "END"),
        default=None,
        help="log-spaced learning rate from START to END (default 1e-2 1e-5)",
    )
    p.add_argument(
        "--no-grad-scale",
        action="store_true",
        help="do not divide the gradient by the batch size as MatConvNet does (short runs learn faster)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT.ckpt")
    p.add_argument(
        "--supervised", action="store_true", help="use the ground-truth boxes (the supervised baseline)"
    )
    p.add_argument(
        "--no-multi-frame", action="store_true", help="ablation: x -> z -> x instead of x -> z1 -> z2 -> x"
    )
    p.add_argument(
        "--no-cost-sensitive", action="store_true", help="ablation: plain L2 loss, no drop, no motion weight"
    )
    p.add_argument(
        "--pseudo-grid", type=int, default=1, metavar="K",
        help="K x K pseudo tracks per video, centres over [1/4, 3/4] of the frame (default 1: the paper's "
        "central box; more distinct crops from few videos)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from regtrack.training.udt import TrainConfig, train_udt, tune_allocator

    cfg = TrainConfig()
    changes: dict = {
        "supervised": args.supervised,
        "multi_frame": not args.no_multi_frame,
        "cost_sensitive": not args.no_cost_sensitive,
        "seed": args.seed,
        "threads": args.threads,
        "pseudo_grid": args.pseudo_grid,
    }
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.pairs_per_epoch is not None:
        changes["pairs_per_epoch"] = args.pairs_per_epoch
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    if args.lr is not None:
        changes["lr_start"], changes["lr_end"] = args.lr
    if args.no_grad_scale:
        changes["matconvnet_grad_scale"] = False
    cfg = dataclasses.replace(cfg, **changes)
    from regtrack.fileio import check_output_path
    from regtrack.trackers.base import check_params

    check_params(cfg, "train udt")  # epochs, batch size, rates: in range before any work

    check_output_path(args.out, option="--out")  # before hours of training, not after
    tune_allocator()
    train_udt(args.videos, args.out, cfg, resume=args.resume, progress=not args.quiet)
    print(f"wrote {args.out} (use it with: --param weights={args.out})")
    return 0
