"""``regtrack show features|residual|losses|imbalance|convergence|compare ...``: the talk's pictures.

``features``: the talk's feature
picture (HCF, Ma et al. ICCV 2015): the input patch, the feature maps of three layers from
shallow to deep, and the correlation response of each layer and of the fused map.

HCF is started on the first frame at ``--box`` and tracks to frame ``N`` (0-based, default 1);
the picture shows the search patch of frame ``N`` and the responses that located the target
there. ``--box`` may be left out when the folder has a ``groundtruth_rect.txt``.

``residual``: CREST's residual picture (:mod:`regtrack.viz.residual`): the base layer's output,
the spatial and temporal residuals and their sum on the search window of frame ``N``.

``compare``: the qualitative comparison (:mod:`regtrack.viz.compare`): live trackers and published
results on one sequence, as a video with a legend and a contact sheet of chosen frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("show", help="draw the talk's pictures: feature maps, residuals, losses, "
                              "tracker comparisons", description="Pictures of a tracker's internals, and "
                              "trackers compared on one video. Each writes one PNG (compare: and a video).",
                              formatter_class=_SubcommandFormatter)
    sub = p.add_subparsers(dest="what", metavar="WHAT")
    f = sub.add_parser(
        "features", help="HCF: input patch, three layers' feature maps, per-layer and fused responses",
        description="Write one PNG with the HCF search patch, the feature maps of its three layers "
        "(shallow to deep), and the correlation response of each layer and of the fused map.",
        epilog="examples:\n  regtrack show features ../shared/data/otb/Girl --frame 20 --out girl.png\n"
        "  regtrack show features clip.mp4 --box 120,80,40,60 --backbone vgg19 --weights vgg19.pth",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("source", metavar="SOURCE", help="video file or folder of images")
    f.add_argument("--box", metavar="X,Y,W,H", help="the target in the first frame (OTB, 1-based); "
                   "optional when the folder has groundtruth_rect.txt")
    f.add_argument("--frame", type=int, default=1, metavar="N",
                   help="0-based frame to draw (HCF tracks from frame 0 up to it; default 1)")
    f.add_argument("--backbone", default="efficientnet_lite0",
                   help="vgg19, vgg16 or efficientnet_lite0 (default: efficientnet_lite0, whose "
                   "weights ship with regtrack[imagenet]; vgg16's with regtrack[vgg])")
    f.add_argument("--weights", metavar="FILE", help="backbone weights file (VGG: the authors' .onnx, "
                   "Keras .h5, MatConvNet .mat or torchvision .pth)")
    f.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override an HCF hyperparameter (repeatable), e.g. --param fusion=coarse_to_fine")
    f.add_argument("--out", metavar="PNG", default="features.png", help="output image (default features.png)")
    f.set_defaults(run=run_features)
    r = sub.add_parser(
        "residual", help="CREST: the frame, the base layer's output, the residual outputs and their sum",
        description="Track with CREST up to frame N and write one PNG with the input frame, the search "
        "window, the base layer's output (a correlation filter learnt as one convolution), the spatial and "
        "temporal residuals, and the full output (the talk's 'Residual Layer' slide). The ground truth is "
        "marked when the folder has it.",
        epilog="examples:\n  regtrack show residual ../shared/data/otb/Dog --frame 30 --out dog.png\n"
        "  regtrack show residual clip.mp4 --box 120,80,40,60 --param input_scale=0.5",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("source", metavar="SOURCE", help="video file or folder of images")
    r.add_argument("--box", metavar="X,Y,W,H", help="the target in the first frame (OTB, 1-based); "
                   "optional when the folder has groundtruth_rect.txt")
    r.add_argument("--frame", type=int, default=10, metavar="N",
                   help="0-based frame to draw (CREST tracks from frame 0 up to it; default 10)")
    r.add_argument("--weights", metavar="FILE", help="VGG-16 weights file (default: the authors' weights "
                   "from regtrack[vgg])")
    r.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a CREST hyperparameter (repeatable), e.g. --param spatial_residual=false")
    r.add_argument("--out", metavar="PNG", default="residual.png", help="output image (default residual.png)")
    r.set_defaults(run=run_residual)
    lo = sub.add_parser(
        "losses", help="DSLT: the weight L2, L3 and the shrinkage loss give a sample, against its error",
        description="Write one PNG with the modulating factor m(l) of loss = m(l) l^2 for L2, L3 (focal) "
        "and the shrinkage loss as a function of the absolute difference l, and the losses themselves "
        "(the talk's 'Shrinkage Loss' slide). The curves are regtrack.core.losses, the functions the "
        "trackers train with.")
    lo.add_argument("--out", metavar="PNG", default="losses.png", help="output image (default losses.png)")
    lo.set_defaults(run=run_losses)
    im = sub.add_parser(
        "imbalance", help="DSLT: label, output and the |output - label| histogram of a run, per loss",
        description="Track the first N frames of SOURCE with DSLT once per loss and write one PNG with a "
        "search window, its label map and the regression output, and the histogram of |output - label| "
        "over the run for each loss (the talk's data-imbalance slide).",
        epilog="example:\n  regtrack show imbalance ../shared/data/otb/Football1 --frames 40 --out imb.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    im.add_argument("source", metavar="SOURCE", help="video file or folder of images")
    im.add_argument("--box", metavar="X,Y,W,H", help="first-frame box (optional with groundtruth_rect.txt)")
    im.add_argument("--frames", type=int, default=40, metavar="N", help="frames to track (default 40)")
    im.add_argument("--losses", default="l2,shrinkage", help="losses to compare (default l2,shrinkage)")
    im.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="override a DSLT hyperparameter (repeatable), e.g. --param input_scale=0.5")
    im.add_argument("--out", metavar="PNG", default="imbalance.png", help="output image")
    im.set_defaults(run=run_imbalance)
    cv = sub.add_parser(
        "convergence", help="DSLT: first-frame training loss against iterations for L2, L3 and shrinkage",
        description="Train DSLT's head on the first frame of each SOURCE once per loss, for a fixed number "
        "of iterations, and write one PNG of the loss against iterations with the iteration where each "
        "reached the stopping threshold (the talk's convergence-speed slide); a table is printed too. "
        "Each loss reports its own value on its own scale, so the table also counts the iterations "
        "until one common measure, the plain L2 error relative to its start, falls under --common-error.",
        epilog="example:\n  regtrack show convergence ../shared/data/otb/Dog ../shared/data/otb/Girl",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    cv.add_argument("sources", nargs="+", metavar="SOURCE", help="folders with groundtruth_rect.txt")
    cv.add_argument("--iterations", type=int, default=100,
                    help="iterations per run (default 100, DSLT's cap)")
    cv.add_argument("--losses", default="l2,l3,shrinkage", help="losses (default l2,l3,shrinkage)")
    cv.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="override a DSLT hyperparameter (repeatable)")
    cv.add_argument("--common-error", type=float, default=0.5, metavar="R",
                    help="also count iterations until the plain L2 error is under R x its start "
                    "(one measure for every loss; default 0.5)")
    cv.add_argument("--out", metavar="PNG", default="convergence.png", help="output image")
    cv.set_defaults(run=run_convergence)
    ta = sub.add_parser(
        "target-aware", help="TADT: conv4_1 / conv4_3 maps of all channels and of the selected ones",
        description="Track with TADT and write one PNG with, for each chosen frame, the search window and "
        "the conv4_1 and conv4_3 maps summed over all channels and over the target-aware channels TADT "
        "selected on the first frame (the talk's 'Visualization of the generated features' slide).",
        epilog="examples:\n  regtrack show target-aware ../shared/data/otb/Walking2 --frames 0,100,200\n"
        "  regtrack show target-aware clip.mp4 --box 120,80,40,60 --out aware.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ta.add_argument("source", metavar="SOURCE", help="video file or folder of images")
    ta.add_argument("--box", metavar="X,Y,W,H", help="first-frame box (optional with groundtruth_rect.txt)")
    ta.add_argument("--frames", default="0,20,40", metavar="A,B,..",
                    help="0-based frames to draw, one row each (default 0,20,40)")
    ta.add_argument("--weights", metavar="FILE", help="VGG-16 weights file (default: the authors' weights "
                    "from regtrack[vgg])")
    ta.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TADT hyperparameter (repeatable)")
    ta.add_argument("--out", metavar="PNG", default="target_aware.png", help="output image")
    ta.set_defaults(run=run_target_aware)
    ts = sub.add_parser(
        "tsne", help="TADT: t-SNE of the original and the target-aware features of several targets",
        description="For each SOURCE (a folder with groundtruth_rect.txt), TADT selects its target-aware "
        "channels on the first frame; the target is then described in --samples frames at its ground "
        "truth by the mean of each channel over the target (all channels, and the selected ones). One PNG "
        "shows the t-SNE (scikit-learn) of both, one colour per sequence (the talk's 'Analyses of the "
        "generated features' slides); the silhouette score of each is printed (higher: targets separate "
        "better).",
        epilog="examples (intra-class: pedestrians; inter-class: different objects):\n"
        "  regtrack show tsne ../shared/data/otb/{Walking2,Woman,Human7,Crossing,Couple,Bolt2} "
        "--out tsne_intra.png\n"
        "  regtrack show tsne ../shared/data/otb/{CarDark,FaceOcc1,Panda,Bird2,MotorRolling,Dog} "
        "--out tsne_inter.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ts.add_argument("sources", nargs="+", metavar="SOURCE", help="folders with groundtruth_rect.txt")
    ts.add_argument("--samples", type=int, default=15, metavar="N",
                    help="frames per target, evenly spaced (default 15)")
    ts.add_argument("--weights", metavar="FILE", help="VGG-16 weights file")
    ts.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TADT hyperparameter (repeatable)")
    ts.add_argument("--out", metavar="PNG", default="tsne.png", help="output image")
    ts.set_defaults(run=run_tsne)
    c = sub.add_parser(
        "compare", help="trackers' boxes (run live or published) on one video: a video and a contact sheet",
        description="Run each of --trackers on SOURCE (the frame loop of `regtrack track`) and draw their\n"
        "boxes beside published results (--results) and the ground truth (dashed white, when the\n"
        "folder has groundtruth_rect.txt), each in its own colour, with one legend. Writes a video\n"
        "with the frame number (--out-video) and a contact sheet of chosen frames (--out), as the\n"
        "talk's 'Visualization' slides show them.",
        epilog="examples:\n  regtrack show compare ../shared/data/otb/Bolt2 --trackers kcf,eco_hc \\\n"
        "      --results ../shared/data/results/OTB100/CREST --results ../shared/data/results/OTB100/TADT\n"
        "  regtrack show compare clip.mp4 --box 120,80,40,60 --trackers kcf,dsst --frames 10,50,90\n"
        "  regtrack show compare ../shared/data/otb/Dog --trackers kcf,dsst --param kcf.padding=2 --no-video",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("source", metavar="SOURCE", help="video file or folder of images (an OTB sequence folder)")
    c.add_argument("--trackers", default="", metavar="A,B,...",
                   help="regtrack trackers to run, comma-separated (`regtrack track --list` lists them)")
    c.add_argument("--results", action="append", default=[], metavar="DIR|FILE",
                   help="published results to draw (repeatable): a folder of per-sequence files, labelled "
                   "with the folder's name, or one file")
    c.add_argument("--box", metavar="X,Y,W,H", help="the target in the first frame (OTB, 1-based); "
                   "optional when the folder has groundtruth_rect.txt")
    c.add_argument("--param", action="append", default=[], metavar="TRACKER.KEY=VALUE",
                   help="override one tracker's hyperparameter (repeatable), e.g. --param kcf.padding=2")
    pick = c.add_mutually_exclusive_group()
    pick.add_argument("--frames", metavar="N,N,...",
                      help="frames on the sheet, numbered from 1 as drawn (default: 6 evenly spaced)")
    pick.add_argument("--every", type=int, metavar="K", help="every K-th frame on the sheet")
    c.add_argument("--max-frames", type=int, metavar="N", help="only the first N frames")
    c.add_argument("--out", metavar="PNG", default="compare.png", help="contact sheet (default compare.png)")
    c.add_argument("--out-video", metavar="VIDEO", default="compare.mp4",
                   help="video, .mp4 or .avi (default compare.mp4)")
    c.add_argument("--no-video", action="store_true", help="write the contact sheet only")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(run=run_compare)
    p.set_defaults(run=lambda args: p.print_help() or 0)


class _SubcommandFormatter(argparse.HelpFormatter):
    """Python's argparse measures sub-command names without their indent, so the longest one
    (``convergence``) wrapped onto its own line; this counts the indent."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            self._action_max_length += self._indent_increment


def _check_picture_path(out: str) -> None:
    """Before any work: ``out`` is a picture format and can be written."""
    from regtrack.errors import RegtrackError
    from regtrack.fileio import check_output_path

    if Path(out).suffix.lower() not in (".png", ".jpg", ".jpeg", ".pdf", ".svg"):
        raise RegtrackError(f"--out {out}: a picture is written as .png, .jpg, .pdf or .svg",
                            fix="e.g. --out picture.png")
    check_output_path(out, option="--out")


def _first_box(args: argparse.Namespace):  # noqa: ANN202 - (box, ground truth or None)
    """The first-frame box: ``--box``, else the folder's ``groundtruth_rect.txt`` (its boxes are
    returned too, to mark the ground truth)."""
    from regtrack.commands.track import find_groundtruth, parse_box
    from regtrack.datasets.base import read_boxes
    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError

    _check_picture_path(args.out)
    open_source(args.source)  # a missing source is the first error, not a missing box
    gt = find_groundtruth(args.source)
    gt_boxes = read_boxes(gt, what="ground-truth file") if gt is not None else None
    if args.box:
        return parse_box(args.box), gt_boxes
    if gt_boxes is None:
        raise RegtrackError("no --box and no groundtruth_rect.txt beside the frames", path=args.source,
                            fix="give the target's first-frame box: --box x,y,w,h")
    return gt_boxes[0], gt_boxes


def _track_to_frame(tracker, args: argparse.Namespace, box):  # noqa: ANN001, ANN202
    """Start ``tracker`` on the first frame of ``args.source`` at ``box`` and track up to frame
    ``args.frame`` (0-based); frame 0 is detected on itself. Returns ``(frame, index, box)``."""
    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError

    if args.frame < 0:
        raise RegtrackError(f"--frame {args.frame} is negative", fix="frames are counted from 0")
    frames = iter(open_source(args.source))
    try:
        first = next(frames)
    except StopIteration:
        raise RegtrackError("the source has no frames", path=args.source) from None
    tracker.init(first, box)
    image, index, out = first, 0, box
    for index, image in enumerate(frames, start=1):  # noqa: B007 - the last frame is drawn
        out = tracker.update(image)
        if index >= args.frame:
            break
    if index < args.frame:
        raise RegtrackError(f"--frame {args.frame} is past the end ({index + 1} frames)", path=args.source,
                            fix=f"choose a frame between 0 and {index}")
    if index == 0:  # the first frame itself: detect on it (the responses peak at the centre)
        out = tracker.update(first)
    return image, index, out


def run_features(args: argparse.Namespace) -> int:
    import numpy as np

    from regtrack.trackers.base import create_tracker, parse_overrides
    from regtrack.viz.features import render_feature_figure

    box, _ = _first_box(args)
    params = parse_overrides("hcf", args.param)
    params.update(backbone=args.backbone)
    if args.weights:
        params["weights"] = args.weights
    tracker = create_tracker("hcf", params)
    _, index, _ = _track_to_frame(tracker, args, box)
    patch = tracker.last_patch_search
    feats = tracker.backbone.features(patch, tracker.layers)
    feats = {k: v[0].numpy() for k, v in feats.items()}
    strides = [tracker.backbone.layers[n].stride for n in tracker.layers]
    # where the target was found, in patch pixels (the patch spans window * scale around the
    # previous centre)
    s = tracker.backbone.input_size
    win = tracker.last_search_window
    size_px = tracker.base_size * tracker.scale * s / win
    offset = (tracker.center - tracker.last_search_center) * s / win
    x0, y0 = s / 2 + offset - size_px / 2
    label = tracker.params.fusion.replace("_", "-")
    title = (f"HCF features, {tracker.backbone.name}, frame {index} of {Path(str(args.source)).name} "
             f"(weights {', '.join(f'{w:g}' for w in tracker.weights)} shallow->deep)")
    out = render_feature_figure(patch, feats, tracker.layers, strides, tracker.last_responses,
                                tracker.last_fused, args.out, title=title,
                                box_in_patch=(x0, y0, size_px[0], size_px[1]), fusion_label=label)
    print(f"wrote {out}  (layers {', '.join(tracker.layers)}; strides {strides}; "
          f"fused peak {float(np.max(tracker.last_fused)):.3f})")
    return 0


def run_residual(args: argparse.Namespace) -> int:
    from regtrack.trackers.base import create_tracker, parse_overrides
    from regtrack.viz.residual import render_residual_figure

    box, gt_boxes = _first_box(args)
    params = parse_overrides("crest", args.param)
    if args.weights:
        params["weights"] = args.weights
    tracker = create_tracker("crest", params)
    image, index, out_box = _track_to_frame(tracker, args, box)
    gt_box = gt_boxes[index] if gt_boxes is not None and index < len(gt_boxes) else None
    title = (f"CREST on frame {index} of {Path(str(args.source)).name}: the base layer and the residuals "
             f"(first-frame training {tracker.init_training.iterations} iterations)")
    out = render_residual_figure(image, tracker.last_patch, tracker.last_branches, args.out, title=title,
                                 tracker_box=out_box, gt_box=gt_box)
    peaks = ", ".join(f"{k} {float(v.max()):.3f}" for k, v in tracker.last_branches.items())
    print(f"wrote {out}  (peaks: {peaks})")
    return 0


def run_losses(args: argparse.Namespace) -> int:
    from regtrack.viz.losses import modulation_table, render_loss_modulation

    _check_picture_path(args.out)
    out = render_loss_modulation(args.out)
    print(f"wrote {out}")
    print(f"{'l':>6s} {'L2':>6s} {'L3':>6s} {'shrinkage':>9s}   (modulating factor m(l))")
    for row in modulation_table():
        print(f"{row[0]:6.2f} {row[1]:6.3f} {row[2]:6.3f} {row[3]:9.3f}")
    return 0


def _losses(text: str) -> list[str]:
    from regtrack.core.losses import LOSSES
    from regtrack.errors import RegtrackError

    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in LOSSES[1:]]
    if bad or not names:
        raise RegtrackError(f"--losses {text!r}: unknown loss {bad[0] if bad else ''!r}",
                            fix="choose among l2, l3, shrinkage, e.g. --losses l2,shrinkage")
    return names


def run_imbalance(args: argparse.Namespace) -> int:
    from regtrack.errors import RegtrackError
    from regtrack.trackers.base import create_tracker, parse_overrides
    from regtrack.trackers.dslt import DIFFERENCE_BINS
    from regtrack.viz.regression import render_imbalance

    if args.frames < 1:
        raise RegtrackError(f"--frames {args.frames} must be at least 1", fix="e.g. --frames 40")
    box, _ = _first_box(args)
    params = parse_overrides("dslt", args.param)
    histograms, shown = {}, None
    args.frame = args.frames
    for loss in _losses(args.losses):
        tracker = create_tracker("dslt", params | {"loss": loss})
        _track_to_frame(tracker, args, box)
        histograms[loss] = tracker.difference_histogram.copy()
        shown = tracker
    title = (f"DSLT on {Path(str(args.source)).name}, {args.frames} frames: window, label, "
             f"{shown.params.loss} output; |output - label| per loss")
    out = render_imbalance(shown.last_patch, shown.last_label, shown.last_response, histograms,
                           DIFFERENCE_BINS, args.out, title=title)
    print(f"wrote {out}")
    for loss, counts in histograms.items():
        easy = (counts / max(counts.sum(), 1))[DIFFERENCE_BINS[:-1] < 0.2].sum()
        print(f"{loss:10s} samples under 0.2: {easy:.1%} of {counts.sum()}")
    return 0


def run_convergence(args: argparse.Namespace) -> int:
    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError
    from regtrack.trackers.base import parse_overrides
    from regtrack.trackers.dslt import convergence_curves
    from regtrack.viz.regression import iterations_to, render_convergence

    if args.iterations < 1:
        raise RegtrackError(f"--iterations {args.iterations} must be at least 1", fix="e.g. --iterations 100")
    if not 0 < args.common_error < 1:
        raise RegtrackError(f"--common-error {args.common_error} must be in (0, 1)",
                            fix="e.g. --common-error 0.5")
    params = parse_overrides("dslt", args.param)
    threshold = params.get("init_stop_loss", 0.03)
    losses = _losses(args.losses)
    curves: dict = {}
    common: dict = {}
    for source in args.sources:
        box, _ = _first_box(argparse.Namespace(source=source, box=None, out=args.out))
        try:
            first = next(iter(open_source(source)))
        except StopIteration:
            raise RegtrackError("the source has no frames", path=source) from None
        name = Path(str(source)).name
        runs = convergence_curves(first, box, losses, params, args.iterations)
        curves[name] = {loss: r.losses for loss, r in runs.items()}
        common[name] = {loss: r.monitored for loss, r in runs.items()}
    out = render_convergence(curves, threshold, args.out, common=common, common_threshold=args.common_error,
                             title=f"DSLT first-frame training, {args.iterations} iterations "
                             f"(solid: each loss; dashed: plain L2 error / label energy)")
    print(f"wrote {out}")
    header = " ".join(f"{loss:>12s}" for loss in losses)
    common_label = f"plain L2 error < {args.common_error:g} x start"
    for label, table, level in ((f"own loss < {threshold:g}", curves, threshold),
                                (common_label, common, args.common_error)):
        print(f"{'sequence':14s} {header}   (iterations to reach {label}; - = not within {args.iterations})")
        for name, runs in table.items():
            cells = [iterations_to(runs[loss], level) for loss in losses]
            print(f"{name:14s} " + " ".join(f"{c if c else '-':>12}" for c in cells))
    return 0


def _tadt(args: argparse.Namespace):  # noqa: ANN202 - a TADT tracker that keeps all conv4_3 channels
    from regtrack.trackers.base import create_tracker, parse_overrides

    params = parse_overrides("tadt", args.param)
    if args.weights:
        params["weights"] = args.weights
    return create_tracker("tadt", params | {"prune_last_layer": False})


def run_target_aware(args: argparse.Namespace) -> int:
    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError
    from regtrack.viz.target_aware import render_target_aware

    try:
        wanted = sorted({int(v) for v in args.frames.split(",") if v.strip()})
    except ValueError:
        raise RegtrackError(f"--frames {args.frames!r} is not a list of frame numbers",
                            fix="e.g. --frames 0,20,40") from None
    if not wanted or wanted[0] < 0:
        raise RegtrackError(f"--frames {args.frames!r}: give frames counted from 0",
                            fix="e.g. --frames 0,20,40")
    box, _ = _first_box(args)
    tracker = _tadt(args)
    rows = []
    for index, frame in enumerate(open_source(args.source)):
        if index == 0:
            tracker.init(frame, box)
        else:
            tracker.update(frame)
        if index in wanted:
            rows.append({"index": index, "window": tracker.last_patch,
                         "maps": {k: v.cpu().numpy() for k, v in tracker.last_maps.items()}})
        if index >= wanted[-1]:
            break
    if len(rows) < len(wanted):
        raise RegtrackError(f"--frames {args.frames}: the source has only {index + 1} frames",
                            path=args.source, fix=f"choose frames between 0 and {index}")
    sel = tracker.selection
    counts = f"{len(sel.channels['conv4_3'])} of conv4_3, {len(sel.channels['conv4_1'])} of conv4_1"
    title = (f"TADT on {Path(str(args.source)).name}: {sel.total} target-aware channels ({counts}), "
             "selected on frame 0")
    out = render_target_aware(rows, sel.channels, args.out, title=title)
    print(f"wrote {out}  ({sel.total} channels selected)")
    return 0


def run_tsne(args: argparse.Namespace) -> int:
    import numpy as np
    from sklearn.metrics import silhouette_score

    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError
    from regtrack.viz.target_aware import render_tsne

    if args.samples < 2:
        raise RegtrackError(f"--samples {args.samples} must be at least 2", fix="e.g. --samples 15")
    if len(args.sources) < 2:
        raise RegtrackError("t-SNE compares targets: give at least two sequences",
                            fix="e.g. regtrack show tsne SEQ_A SEQ_B SEQ_C")
    original, aware, labels = [], [], []
    for source in args.sources:
        _, gt = _first_box(argparse.Namespace(source=source, box=None, out=args.out))
        name = Path(str(source)).name
        tracker = _tadt(args)
        picks = set(np.linspace(0, len(gt) - 1, args.samples + 1).round().astype(int)[1:].tolist())
        for index, frame in enumerate(open_source(source)):
            if index == 0:
                tracker.init(frame, gt[0])
            elif index in picks and gt[index][2] > 0 and gt[index][3] > 0:
                o, a = tracker.target_features(frame, gt[index])
                original.append(o)
                aware.append(a)
                labels.append(name)
            if index >= max(picks):
                break
    o_arr, a_arr = np.asarray(original), np.asarray(aware)
    out = render_tsne(o_arr, a_arr, labels, args.out,
                      title=f"TADT features of {len(args.sources)} targets, {args.samples} frames each "
                      "(t-SNE; one colour per sequence)")
    # how well the targets separate, on the features themselves (cosine: scale-free, as the t-SNE)
    s_o = silhouette_score(o_arr, labels, metric="cosine")
    s_a = silhouette_score(a_arr, labels, metric="cosine")
    print(f"wrote {out}  (silhouette, cosine: original {s_o:.3f}, target-aware {s_a:.3f}; "
          f"{len(labels)} samples)")
MAX_TILES = 48  # a sheet beyond this is too small to read on a slide


def _compare_trackers(text: str, pairs: list[str]) -> tuple[list[str], dict[str, dict]]:
    """``--trackers a,b`` and ``--param TRACKER.KEY=VALUE`` -> (names, name -> typed overrides),
    every name and value checked before any work."""
    from regtrack.errors import RegtrackError
    from regtrack.trackers.base import parse_overrides, tracker_class

    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        tracker_class(name)  # an unknown name: one line listing the known ones
    if len(set(names)) < len(names):
        raise RegtrackError(f"--trackers {text!r} names a tracker twice", fix="name each tracker once")
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        key = pair.split("=", 1)[0]
        if "." not in key:
            example = f"{names[0] if names else 'kcf'}.{pair}"
            raise RegtrackError(f"--param {pair!r} does not say which tracker",
                                fix=f"write TRACKER.KEY=VALUE, e.g. --param {example}")
        name, rest = pair.split(".", 1)
        if name not in names:
            raise RegtrackError(f"--param {pair!r}: {name!r} is not in --trackers",
                                fix=f"add it to --trackers, or use one of {', '.join(names) or 'none given'}")
        grouped.setdefault(name, []).append(rest)
    return names, {n: parse_overrides(n, grouped.get(n, [])) for n in names}


def _sheet_numbers(args: argparse.Namespace, total: int) -> list[int]:
    """The sheet's frame numbers (1-based) from ``--frames`` / ``--every``, checked against ``total``."""
    from regtrack.errors import RegtrackError
    from regtrack.viz.compare import sheet_frames

    if args.every is not None and args.every < 1:
        raise RegtrackError(f"--every {args.every} must be at least 1", fix="e.g. --every 50")
    if args.frames is None:
        numbers = sheet_frames(total, every=args.every)
    else:
        try:
            numbers = sorted({int(t) for t in args.frames.replace(" ", ",").split(",") if t.strip()})
        except ValueError:
            numbers = []
        if not numbers:
            raise RegtrackError(f"--frames {args.frames!r} is not a list of frame numbers",
                                fix="write e.g. --frames 10,50,90 (numbered from 1)")
        outside = [n for n in numbers if not 1 <= n <= total]
        if outside:
            raise RegtrackError(f"--frames: frame {outside[0]} is outside 1..{total}",
                                fix=f"choose frames between 1 and {total}")
    if len(numbers) > MAX_TILES:
        raise RegtrackError(f"{len(numbers)} frames on one sheet is too many to read (at most {MAX_TILES})",
                            fix=f"use --every {-(-total // MAX_TILES)} or more, or --frames")
    return numbers


def run_compare(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from regtrack.commands.track import first_box_and_groundtruth
    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError
    from regtrack.evaluation.metrics import evaluate_sequence
    from regtrack.fileio import check_output_path
    from regtrack.trackers.base import create_tracker
    from regtrack.viz import compare
    from regtrack.viz.figure import save_figure
    from regtrack.viz.overlay import VideoWriter, check_video_path

    _check_picture_path(args.out)  # outputs first, before any frame is read
    if not args.no_video:
        check_video_path(check_output_path(args.out_video, option="--out-video"))
    names, params = _compare_trackers(args.trackers, args.param)
    if not names and not args.results:
        raise RegtrackError("nothing to compare", fix="run trackers (--trackers kcf,dsst) and/or draw "
                            "published results (--results DIR)")
    if args.max_frames is not None and args.max_frames < 1:
        raise RegtrackError(f"--max-frames {args.max_frames} must be at least 1")
    source = open_source(args.source)
    if source.num_frames is None:
        raise RegtrackError("the number of frames of this source is unknown (a camera?)", path=args.source,
                            fix="give a video file or a folder of images")
    total = min(source.num_frames, args.max_frames or source.num_frames)
    box, gt, _, n_scored = first_box_and_groundtruth(args.source, source.num_frames, args.box,
                                                     require_box=bool(names))
    sheet = _sheet_numbers(args, total)
    published = compare.published_boxes(args.results, source.name, source.num_frames,
                                        getattr(source, "paths", None), gt, taken=names)
    trackers = {n: create_tracker(n, params[n]) for n in names}
    bar = tqdm(total=total, unit="frame", disable=args.no_progress, dynamic_ncols=True, file=sys.stderr,
               desc=f"{', '.join(names) or 'drawing'} on {source.name}")
    try:
        if args.no_video:
            run = compare.run_comparison(trackers, source, box, published, gt, sheet, None, total, bar.update)
        else:
            with VideoWriter(args.out_video, source.fps) as writer:
                run = compare.run_comparison(trackers, source, box, published, gt, sheet, writer, total,
                                             bar.update)
    finally:
        bar.close()
    title = f"{source.name}: {', '.join(run.boxes)}" + (" and the ground truth" if gt is not None else "")
    fig = compare.contact_sheet(run.tiles, compare.entry_colours(run.boxes), gt is not None, title=title)
    out = save_figure(fig, args.out, dpi=compare.SHEET_DPI)
    print(f"wrote {out} (frames {', '.join(map(str, sheet))})"
          + ("" if args.no_video else f" and {args.out_video} ({run.frames} frames)"))
    scored = min(run.frames, n_scored) if gt is not None else 0
    for name, boxes in run.boxes.items():
        line = f"  {name:14s} " + (f"{run.fps[name]:7.1f} fps" if name in run.fps else "  published")
        if scored > 1:
            s = evaluate_sequence(boxes[:scored], gt[:scored])
            line += f"   AUC {s.auc:.3f}  P@20 {s.precision:.3f} over {scored} frames"
        print(line)
    return 0
