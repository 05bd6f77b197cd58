"""``regtrack show features SOURCE --box x,y,w,h [--frame N] [--out PNG]``: the talk's feature
picture (HCF, Ma et al. ICCV 2015): the input patch, the feature maps of three layers from
shallow to deep, and the correlation response of each layer and of the fused map.

HCF is started on the first frame at ``--box`` and tracks to frame ``N`` (0-based, default 1);
the picture shows the search patch of frame ``N`` and the responses that located the target
there. ``--box`` may be left out when the folder has a ``groundtruth_rect.txt``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("show", help="draw pictures of what a tracker sees (feature maps, responses)",
                              description="Pictures of a tracker's internals.")
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
                   "weights ship with regtrack[imagenet])")
    f.add_argument("--weights", metavar="FILE", help="backbone weights file (VGG: torchvision's .pth)")
    f.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override an HCF hyperparameter (repeatable), e.g. --param fusion=coarse_to_fine")
    f.add_argument("--out", metavar="PNG", default="features.png", help="output image (default features.png)")
    f.set_defaults(run=run_features)
    p.set_defaults(run=lambda args: p.print_help() or 0)


def run_features(args: argparse.Namespace) -> int:
    import numpy as np

    from regtrack.commands.track import find_groundtruth, parse_box
    from regtrack.datasets.sources import open_source
    from regtrack.errors import RegtrackError
    from regtrack.fileio import check_output_path
    from regtrack.trackers.base import create_tracker, parse_overrides
    from regtrack.viz.features import render_feature_figure

    if Path(args.out).suffix.lower() not in (".png", ".jpg", ".jpeg", ".pdf", ".svg"):
        raise RegtrackError(f"--out {args.out}: a picture is written as .png, .jpg, .pdf or .svg",
                            fix="e.g. --out features.png")
    check_output_path(args.out, option="--out")
    source = open_source(args.source)  # a missing source is the first error, not a missing box
    if args.box:
        box = parse_box(args.box)
    else:
        gt = find_groundtruth(args.source)
        if gt is None:
            raise RegtrackError("no --box and no groundtruth_rect.txt beside the frames", path=args.source,
                                fix="give the target's first-frame box: --box x,y,w,h")
        from regtrack.datasets.base import read_boxes

        box = read_boxes(gt, what="ground-truth file")[0]
    if args.frame < 0:
        raise RegtrackError(f"--frame {args.frame} is negative", fix="frames are counted from 0")
    params = parse_overrides("hcf", args.param)
    params.update(backbone=args.backbone)
    if args.weights:
        params["weights"] = args.weights
    tracker = create_tracker("hcf", params)
    frames = iter(source)
    try:
        first = next(frames)
    except StopIteration:
        raise RegtrackError("the source has no frames", path=args.source) from None
    tracker.init(first, box)
    image, index = first, 0
    for index, image in enumerate(frames, start=1):  # noqa: B007 - the last frame is drawn
        tracker.update(image)
        if index >= args.frame:
            break
    if index < args.frame:
        raise RegtrackError(f"--frame {args.frame} is past the end ({index + 1} frames)", path=args.source,
                            fix=f"choose a frame between 0 and {index}")
    if index == 0:  # the first frame itself: detect on it (the responses peak at the centre)
        tracker.update(first)
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
