"""The talk's qualitative comparison (the "Visualization" slides): several trackers' boxes on the
same frames, each tracker in its own colour, the ground truth dashed white, one legend.

Two pictures of the same data:

* :func:`compare_frame`, one video frame: the frame with every box (drawn by
  :func:`regtrack.viz.overlay.annotate`, the overlay of ``regtrack track --out``), its number, and
  a legend strip *under* the frame (a legend on the picture hides the target sooner or later);
* :func:`contact_sheet`, a grid of chosen frames, each with every box and its number in the
  corner, and one shared legend below: a matplotlib figure, saved by
  :func:`regtrack.viz.figure.save_figure`.

:func:`run_comparison` feeds both from one pass over the frames: live trackers run in the one
frame loop (:func:`regtrack.tracking.track_many`), published boxes (:func:`published_boxes`) are
read beforehand and drawn beside them, and only the sheet's frames are kept in memory.

Frames are ``H x W x 3`` uint8 RGB; boxes are OTB ``x, y, w, h`` (1-based); frame numbers are
1-based, as drawn in the corner (``#1`` is the source's first frame).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from regtrack.tracking import TrackedFrame, running_fps, track_many
from regtrack.viz.overlay import PALETTE, VideoWriter, annotate, draw_box

RGB = tuple[int, int, int]
GT_NAME = "ground truth"
GT_COLOUR: RGB = (255, 255, 255)
SHEET_DPI = 100
SHEET_WIDTH = 16.0  # inches: a slide's width at SHEET_DPI; a tile is at most 5 in wide
_TEXT = (235, 235, 235)
_STRIP = (30, 30, 30)


@dataclass
class Tile:
    """One frame of the contact sheet."""

    number: int  # 1-based
    image: np.ndarray
    boxes: dict[str, np.ndarray]  # name -> OTB box in this frame (names without a box left out)
    gt: np.ndarray | None = None


@dataclass
class Comparison:
    """What :func:`run_comparison` saw: the sheet's tiles and every entry's boxes."""

    frames: int
    tiles: list[Tile]
    boxes: dict[str, np.ndarray]  # name -> N x 4 over the frames run (live trackers first)
    fps: dict[str, float] = field(default_factory=dict)  # live trackers' fps over their updates


def entry_colours(names: Iterable[str]) -> dict[str, RGB]:
    """Each name's colour: :data:`~regtrack.viz.overlay.PALETTE` in order, without its white,
    which is the ground truth's here."""
    palette = [c for c in PALETTE if c != GT_COLOUR]
    return {n: palette[i % len(palette)] for i, n in enumerate(names)}


def sheet_frames(total: int, count: int = 6, every: int | None = None) -> list[int]:
    """1-based frame numbers for the sheet out of ``total`` frames: every ``every``-th frame
    (``K, 2K, ...``), or ``count`` evenly spaced ones ending at the last frame. Frame 1 is left
    out when there are others: every box there is the first-frame box."""
    if total < 1:
        return []
    if every is not None:
        picked = list(range(every, total + 1, every))
    elif total - 1 <= count:
        picked = list(range(2, total + 1))
    else:
        picked = sorted({int(round(v)) for v in np.linspace(1, total, count + 1)[1:]})
    return picked or [1]


def _ordered(boxes: Mapping[str, np.ndarray], gt: np.ndarray | None) -> dict[str, np.ndarray]:
    """Trackers in their order (the first drawn on top), the ground truth last (underneath)."""
    shown = {n: b for n, b in boxes.items() if b is not None}
    if gt is not None:
        shown[GT_NAME] = gt
    return shown


def legend_strip(width: int, colours: Mapping[str, RGB], with_gt: bool) -> np.ndarray:
    """A dark ``width``-pixel strip naming each entry beside a small box in its colour and style,
    wrapped onto more rows when the names do not fit one."""
    entries = [(n, c, False) for n, c in colours.items()] + ([(GT_NAME, GT_COLOUR, True)] if with_gt else [])
    scale = max(0.45, width / 1200)  # the frame's text scale (overlay.draw_text) keeps it readable
    thick = max(1, round(scale * 1.5))
    (_, th), base = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad, icon_w, icon_h = max(4, th // 2), 2 * th + 4, th + 2
    row_h = th + base + 2 * pad
    placed, x, row = [], pad, 0
    for name, colour, dashed in entries:
        tw = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0]
        need = icon_w + pad + tw + 3 * pad
        if x > pad and x + need > width:
            x, row = pad, row + 1
        placed.append((x, row, name, colour, dashed))
        x += need
    height = (row + 1) * row_h + pad
    strip = np.full((height + height % 2, width, 3), _STRIP, dtype=np.uint8)  # even: video codecs
    for x, r, name, colour, dashed in placed:
        top = pad + r * row_h + (row_h - icon_h) // 2
        strip = draw_box(strip, (x + 1, top + 1, icon_w, icon_h), colour, thickness=max(2, thick),
                         dashed=dashed)
        cv2.putText(strip, name, (x + icon_w + pad, pad + r * row_h + pad + th), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, _TEXT, thick, cv2.LINE_AA)
    return strip


def compare_frame(frame: np.ndarray, number: int, boxes: Mapping[str, np.ndarray], colours: Mapping[str, RGB],
                  gt: np.ndarray | None = None, legend: np.ndarray | None = None) -> np.ndarray:
    """One video frame: ``frame`` with each of ``boxes`` (name -> OTB box) in ``colours[name]``,
    ``gt`` dashed white under them, ``#number`` at the top-left, and ``legend`` (by default
    :func:`legend_strip` of ``colours``, with the ground truth when ``gt`` is given) below."""
    picture = annotate(frame, _ordered(boxes, gt), frame_number=number, labels=False, dashed={GT_NAME},
                       colours={**colours, GT_NAME: GT_COLOUR})
    if legend is None:
        legend = legend_strip(picture.shape[1], colours, gt is not None)
    return np.vstack([picture, legend])


def contact_sheet(tiles: SequenceABC[Tile], colours: Mapping[str, RGB], with_gt: bool,
                  title: str = "") -> Any:
    """The sheet: ``tiles`` in a grid (a row of up to 4, else about a 16:10 sheet), every box in
    ``colours[name]`` and the ground truth dashed white in each, ``#number`` in the top-left
    corner, one legend below. Returns a matplotlib figure ``SHEET_WIDTH`` inches wide or less,
    meant to be saved at :data:`SHEET_DPI`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    if not tiles:
        raise ValueError("contact_sheet: no tiles")
    h, w = tiles[0].image.shape[:2]
    n = len(tiles)
    cols = n if n <= 4 else min(n, math.ceil(math.sqrt(n * 1.6 * h / w)))
    rows = math.ceil(n / cols)
    tile_w = min(5.0, SHEET_WIDTH / cols)
    tile_h = tile_w * h / w
    names = list(colours) + ([GT_NAME] if with_gt else [])
    per_row = max(1, min(len(names), int(cols * tile_w / 2.4)))  # about 2.4 in per legend entry
    legend_h = 0.35 * math.ceil(len(names) / per_row) + 0.15
    fig = plt.figure(figsize=(cols * tile_w, rows * tile_h + legend_h + (0.35 if title else 0)))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[tile_h] * rows + [legend_h])
    gt_style = {"edgecolor": "white", "linestyle": (0, (4, 3)), "linewidth": 1.6,
                "path_effects": [patheffects.withStroke(linewidth=3.4, foreground="black")]}
    for k, tile in enumerate(tiles):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        ax.imshow(tile.image)
        shown = _ordered(tile.boxes, tile.gt)
        for z, (name, box) in enumerate(reversed(list(shown.items()))):  # the first on top
            b = np.asarray(box, dtype=np.float64)
            if b.size != 4 or not np.all(np.isfinite(b)) or b[2] <= 0 or b[3] <= 0:
                continue
            # OTB pixel x (1-based) is imshow's column x - 1, whose left edge is at x - 1.5
            style = gt_style if name == GT_NAME else {"edgecolor": np.array(colours[name]) / 255,
                                                      "linewidth": 2.0}
            ax.add_patch(Rectangle((b[0] - 1.5, b[1] - 1.5), b[2], b[3], fill=False, zorder=2 + z, **style))
        ax.text(0.012, 0.985, f"#{tile.number}", transform=ax.transAxes, ha="left", va="top", fontsize=12,
                fontweight="bold", color="yellow", zorder=20,  # over every box
                bbox={"facecolor": "black", "alpha": 0.65, "pad": 2, "linewidth": 0})
        ax.set_axis_off()
    # box-shaped keys, drawn as the boxes are (the video's legend shows the same)
    handles = [Rectangle((0, 0), 1, 1, fill=False, edgecolor=np.array(c) / 255, linewidth=2.5, label=n)
               for n, c in colours.items()]
    if with_gt:
        handles.append(Rectangle((0, 0), 1, 1, fill=False, label=GT_NAME, **gt_style))
    legend_ax = fig.add_subplot(grid[rows, :])
    legend_ax.set_axis_off()
    legend_ax.legend(handles=handles, loc="center", ncol=per_row, frameon=False, fontsize=12,
                     handlelength=2.0, handleheight=1.1, columnspacing=2.2)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def published_boxes(results: Iterable[str | Path], name: str, n_frames: int,
                    frame_paths: SequenceABC[Path] | None, gt: np.ndarray | None,
                    taken: Collection[str] = ()) -> dict[str, np.ndarray]:
    """Boxes of sequence ``name`` from result folders or files (label: the folder's name, or the
    folder holding the file; repeated labels get ``#2``...), aligned to its frames by
    :func:`regtrack.evaluation.results.align_result`.

    With ground truth ``gt``, the rows it covers are drawn as the OTB toolkit scores them
    (:func:`regtrack.evaluation.metrics.protocol_boxes`: the first frame is the ground truth, an
    invalid box the previous one). That matters for drawing: the authors' TADT files keep their
    first row in TADT's resized image (Biker's ``565,203,35,56`` for the ground truth's
    ``262,94,16,26``, 2.16x), which the toolkit never scores."""
    from regtrack.datasets.base import Sequence
    from regtrack.evaluation.metrics import protocol_boxes
    from regtrack.evaluation.results import sequence_result

    n_rows = len(gt) if gt is not None else n_frames
    # without image files (a video), the frames are numbered from 1 (align_result reads it)
    paths = list(frame_paths or [Path(str(i + 1)) for i in range(n_frames)])[:n_rows]
    seq = Sequence(name, paths, gt if gt is not None else np.full((n_rows, 4), np.nan))
    out: dict[str, np.ndarray] = {}
    used = set(taken)
    for where in results:
        where = Path(where)
        boxes, path = sequence_result(where, seq)
        if gt is not None:
            boxes = protocol_boxes(boxes, gt)
        label = where.name if where.is_dir() else path.parent.resolve().name
        k, base = 2, label
        while label in used:
            label, k = f"{base} #{k}", k + 1
        used.add(label)
        out[label] = boxes
    return out


def run_comparison(trackers: Mapping[str, Any], frames: Iterable[np.ndarray], box: np.ndarray | None,
                   published: Mapping[str, np.ndarray], gt: np.ndarray | None, sheet: Collection[int],
                   video: VideoWriter | None = None, max_frames: int | None = None,
                   progress: Callable[[], None] | None = None) -> Comparison:
    """Run the live ``trackers`` (name -> tracker) from ``box`` through ``frames`` in the one frame
    loop, with the ``published`` boxes (name -> N x 4) and the ground truth ``gt`` drawn beside
    them: every frame goes to ``video`` (:func:`compare_frame`), the frames numbered in ``sheet``
    (1-based) are kept as :class:`Tile` s. ``progress()`` is called after each frame."""
    colours = entry_colours([*trackers, *published])
    tiles: list[Tile] = []
    legend: list[np.ndarray] = []
    seen = [0]

    def on_frame(t: TrackedFrame) -> None:
        seen[0] = t.index + 1
        shown = dict(t.boxes)
        shown.update({n: b[t.index] for n, b in published.items() if t.index < len(b)})
        g = gt[t.index] if gt is not None and t.index < len(gt) else None
        if t.index + 1 in sheet:
            tiles.append(Tile(t.index + 1, t.frame, shown, g))
        if video is not None:
            if not legend:
                legend.append(legend_strip(t.frame.shape[1], colours, gt is not None))
            video.write(compare_frame(t.frame, t.index + 1, shown, colours, g, legend[0]))
        if progress is not None:
            progress()

    start = np.full(4, np.nan) if box is None else np.asarray(box, dtype=np.float64)
    runs = track_many(trackers, frames, start, on_frame, max_frames)
    boxes = {name: b for name, (b, _) in runs.items()} | {name: b[:seen[0]] for name, b in published.items()}
    return Comparison(seen[0], tiles, boxes, {name: running_fps(t) for name, (_, t) in runs.items()})
