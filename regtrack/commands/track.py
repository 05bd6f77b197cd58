"""``regtrack track SOURCE --box x,y,w,h [--tracker NAME] [--out annotated.mp4] [--save boxes.txt]``:
track one target through a video file, an image folder or a camera.

SOURCE is anything :func:`regtrack.datasets.sources.open_source` opens. ``--box`` is the
target's OTB box in the first frame (``x,y,w,h``, 1-based pixels); it may be left out when the
folder (or the folder above an ``img/``) holds a ``groundtruth_rect.txt``, whose first row is then
used, and whose other rows are drawn in red and scored when they cover every frame.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from regtrack.errors import RegtrackError
from regtrack.tracking import overlay, track_frames  # the one frame loop, shared with `regtrack serve`

DEFAULT_TRACKER = "udtplus_hog"  # RESULTS_eco.md §4: beats udt by +0.07 AUC at >= 30 fps
"""The tracker ``regtrack track`` and ``regtrack demo`` use unless told otherwise (one constant).
UDT with regtrack's own shipped weights: it needs no download, and it beats KCF and DSST on the
23 OTB targets of ../shared/data/otb (AUC 0.516 vs 0.372 / 0.431) and on the demo clip (0.786 vs
0.730 / 0.352); see benchmarks/RESULTS_udt.md."""

GROUNDTRUTH_NAMES = ("groundtruth_rect.txt", "groundtruth.txt", "groundtruth_rect.1.txt")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "track", help="track one target through a video, an image folder or a camera",
        description="Track one target from its box in the first frame. Shows a progress bar with the "
        "running speed; optionally writes the annotated video (box and frame number) and the boxes "
        "(OTB text format, x,y,w,h one line a frame, 1-based).",
        epilog="examples:\n  regtrack track clip.mp4 --box 120,80,40,60 --out annotated.mp4\n"
        "  regtrack track ../shared/data/otb/Dog --save dog.txt   (box from groundtruth_rect.txt)\n"
        "  regtrack track 0 --box 300,200,80,80 --tracker dsst   (camera 0; Ctrl-C stops)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="SOURCE", nargs="?",
                   help="video file, folder of images, or camera index")
    p.add_argument("--box", metavar="X,Y,W,H",
                   help="the target in the first frame (OTB: 1-based top-left x,y, width, height); "
                   "optional when the folder has groundtruth_rect.txt")
    p.add_argument("--tracker", default=DEFAULT_TRACKER, metavar="NAME",
                   help=f"tracker name (default {DEFAULT_TRACKER}; `regtrack track --list` lists them)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a tracker hyperparameter (repeatable), e.g. --param padding=2")
    p.add_argument("--out", metavar="VIDEO", help="write the annotated video here (.mp4 or .avi)")
    p.add_argument("--save", metavar="TXT", help="write the boxes here (OTB text format)")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true",
                   help="list the trackers and their parameters (default, valid range, meaning) and exit")
    p.set_defaults(run=run)


def parse_box(text: str) -> np.ndarray:
    """``"x,y,w,h"`` (commas, spaces or tabs) -> an OTB box, or a one-line :class:`RegtrackError`."""
    parts = [t for t in text.replace(",", " ").replace("\t", " ").split() if t]
    try:
        values = np.array([float(t) for t in parts])
    except ValueError:
        values = np.zeros(0)
    if values.size != 4 or not np.all(np.isfinite(values)):
        raise RegtrackError(f"--box {text!r} is not four numbers x,y,w,h",
                            fix="write e.g. --box 120,80,40,60 (1-based top-left x,y, width, height)")
    if values[2] <= 0 or values[3] <= 0:
        raise RegtrackError(f"--box {text!r} has zero or negative size",
                            fix="width and height must be at least 1 pixel")
    return values


def find_groundtruth(source: str | Path) -> Path | None:
    """The ground-truth file of an image folder (or of the sequence folder above its ``img/``)."""
    path = Path(str(source)).expanduser()
    if not path.is_dir():
        return None
    for folder in (path, path.parent) if path.name in ("img", "color") else (path,):
        for name in GROUNDTRUTH_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def first_box_and_groundtruth(source: str | Path, n_frames: int | None, box_text: str | None,
                              require_box: bool = True
                              ) -> tuple[np.ndarray | None, np.ndarray | None, Path | None, int]:
    """The first-frame box and the ground truth of ``source``: ``(box, ground truth or None, its
    file, frames it scores)``. The box is ``box_text`` (``--box``), else the ground truth's first
    row (said on stderr when ``require_box``); without either, a one-line error when
    ``require_box``, else None.

    Ground truth that cannot be matched to the ``n_frames`` frames is an error, or, beside a
    ``--box``, said and left out."""
    from regtrack.datasets.base import read_boxes, reconcile_groundtruth

    gt = None
    gt_file = find_groundtruth(source)
    n_scored = 0
    if gt_file is not None:
        gt = read_boxes(gt_file, what="ground-truth file")
        try:  # rows and frames must agree, or the boxes would be scored against the wrong frames
            n_scored, note = reconcile_groundtruth(n_frames, gt, gt_file)
        except RegtrackError as err:
            if not box_text:
                raise
            note, gt = f"{err}; not drawn or scored", None
        if note:
            print(f"regtrack: note: {note}", file=sys.stderr)
    if box_text:
        return parse_box(box_text), gt, gt_file, n_scored
    if gt is not None:
        valid = np.flatnonzero(np.all(np.isfinite(gt), axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0))
        if len(valid) and valid[0] == 0:
            box = gt[0].copy()
            if require_box:  # a tracker will start from it
                shown = ",".join(f"{v:g}" for v in box)
                print(f"regtrack: initial box {shown} from {gt_file}", file=sys.stderr)
            return box, gt, gt_file, n_scored
        if require_box:
            raise RegtrackError("the first ground-truth row is not a valid box", path=gt_file,
                                fix="give the box with --box x,y,w,h")
        return None, gt, gt_file, n_scored
    if require_box:
        raise RegtrackError("no --box given and no groundtruth_rect.txt beside the frames",
                            fix="give the target's first-frame box: --box x,y,w,h (1-based pixels)")
    return None, None, None, 0


def run(args: argparse.Namespace) -> int:
    from regtrack.datasets.sources import open_source
    from regtrack.fileio import check_output_path, partial_path
    from regtrack.trackers.base import available_trackers, create_tracker, describe_params, parse_overrides

    if args.list:
        print("\n\n".join(describe_params(name) for name in available_trackers()))
        return 0
    if args.source is None:
        raise RegtrackError("no SOURCE given", fix="regtrack track VIDEO|FOLDER|CAMERA --box x,y,w,h")
    # Outputs first: an unwritable path is found before a frame is read, not after the whole clip.
    if args.save:
        check_output_path(args.save, option="--save")
    if args.out:
        from regtrack.viz.overlay import check_video_path

        check_video_path(check_output_path(args.out, option="--out"))
    if args.save and args.out and Path(args.save).resolve() == Path(args.out).resolve():
        raise RegtrackError("--save and --out name the same file", path=args.save,
                            fix="the boxes (--save, .txt) and the video (--out, .mp4) need two names")
    params = parse_overrides(args.tracker, args.param)  # names, types and ranges, before any work
    source = open_source(args.source)  # a missing or unreadable source is the first input error
    box, gt, gt_file, n_scored = first_box_and_groundtruth(args.source, source.num_frames, args.box)
    if args.max_frames is not None and args.max_frames < 1:
        raise RegtrackError("--max-frames must be at least 1")
    tracker = create_tracker(args.tracker, params)
    total = source.num_frames
    if args.max_frames is not None:
        total = min(args.max_frames, total or args.max_frames)

    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", disable=args.no_progress, dynamic_ncols=True, file=sys.stderr,
               desc=f"{args.tracker} on {source.name}")
    writer = None
    if args.out:
        from regtrack.viz.overlay import VideoWriter

        writer = VideoWriter(args.out, source.fps)

    collected: list[np.ndarray] = []
    running = [0.0]

    def on_frame(i: int, frame: np.ndarray, out: np.ndarray, fps: float) -> None:
        collected.append(out)
        running[0] = fps
        if writer is not None:
            writer.write(overlay(frame, i, {args.tracker: out}, gt, {args.tracker: fps}))
        bar.update(1)
        if i % 10 == 0:
            bar.set_postfix(fps=f"{fps:.1f}")

    interrupted = False
    failed: BaseException | None = None
    try:
        track_frames(tracker, source, box, on_frame, args.max_frames)
    except KeyboardInterrupt:  # a camera runs until Ctrl-C: keep what was tracked
        interrupted = True
    except Exception as err:  # noqa: BLE001 - re-raised below, once the boxes are safe
        failed = err
    finally:
        bar.close()
        # A run that failed part-way never replaces an existing video: its frames go beside it.
        video = writer.close(complete=failed is None) if writer is not None else None
    boxes = np.array(collected).reshape(-1, 4)
    # The boxes go to --save, or, after an error, to SAVE.partial.txt (OUT.partial.txt without
    # --save): nothing tracked is lost, and a complete file is never replaced by a partial one.
    keep = None
    if args.save:
        keep = Path(args.save) if failed is None else partial_path(args.save)
    elif failed is not None and args.out:
        keep = partial_path(Path(args.out).with_suffix(".txt"))
    if keep is not None and len(boxes):
        from regtrack.evaluation.results import format_boxes
        from regtrack.fileio import atomic_write

        atomic_write(keep, format_boxes(boxes))
    if failed is not None:
        if keep is not None and len(boxes):
            print(f"regtrack: note: the {len(boxes)} boxes tracked before the error are in {keep}"
                  + (f", the video so far in {video}" if video else ""), file=sys.stderr)
        raise failed
    n, fps = len(boxes), running[0]
    line = f"{args.tracker}: {n} frames, {fps:.1f} fps (tracker only, after init)"
    if gt is not None and n >= n_scored > 1:
        from regtrack.evaluation.metrics import evaluate_sequence

        score = evaluate_sequence(boxes[:n_scored], gt[:n_scored])
        line += f", AUC {score.auc:.3f}, precision@20px {score.precision:.3f} against {gt_file.name}"
    print(line)
    if args.out:
        print(f"annotated video: {args.out}")
    if args.save:
        print(f"boxes: {args.save}")
    return 130 if interrupted else 0
