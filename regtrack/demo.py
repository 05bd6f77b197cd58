"""The built-in demo: a synthetic clip that needs no data, tracked with the default tracker.

:func:`render_clip` draws a textured target moving over a textured background, showing in turn
the five difficulties of single-object tracking: illumination change, heavy occlusion, motion
blur, a small target, a large scale change. Its ground truth is exact, so the demo scores the
tracker with the OTB protocol like any benchmark sequence. :func:`run_demo` tracks it and writes
the annotated video, the boxes, the ground truth and the success/precision plots.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np

from regtrack.core.box import center_to_otb

FRAME_SIZE = (320, 240)     # (W, H)
TARGET_SIZE = (52.0, 40.0)  # (w, h) at scale 1
SEGMENTS: tuple[tuple[str, int], ...] = (
    ("normal", 25), ("illumination change", 45), ("heavy occlusion", 45), ("motion blur", 40),
    ("small target", 40), ("large scale change", 55))
"""(difficulty, number of frames), in the order shown."""
SMALL_SCALE, LARGE_SCALE = 0.5, 1.8  # target scale at its smallest (26 x 20 px) and largest
OCCLUDER_WIDTH = 64
OCCLUDER_TRAVEL = 600.0  # px over the occlusion segment


@dataclasses.dataclass
class DemoClip:
    """Frames (RGB uint8), ground-truth OTB boxes, and the difficulty of each frame."""

    frames: list[np.ndarray]
    gt: np.ndarray
    labels: list[str]
    fps: float = 30.0


def fractal_texture(h: int, w: int, rng: np.random.Generator, octaves: int = 5,
                     base: int = 4) -> np.ndarray:
    """Multi-octave value noise in ``[0, 1]``, ``h x w x 3``: a natural-looking texture."""
    out = np.zeros((h, w, 3), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = base * 2**o
        coarse = rng.random((n, max(2, round(n * w / h)), 3)).astype(np.float32)
        out += amp * cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.55
    out /= total
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


def target_texture(rng: np.random.Generator, h: int = 160, w: int = 208) -> np.ndarray:
    """A distinctive target: saturated colour blobs and a bold pattern, with a dark outline."""
    tex = fractal_texture(h, w, rng, octaves=4, base=3)
    tex = np.clip((tex - 0.5) * 2.2 + 0.5, 0, 1)
    tex[..., 0] = 0.55 * tex[..., 0] + 0.45  # warm: reddish, stands out from the green background
    img = (tex * 255).astype(np.uint8)
    for _ in range(7):  # bold shapes give strong, distinctive gradients
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        center = (int(rng.integers(20, w - 20)), int(rng.integers(20, h - 20)))
        if rng.random() < 0.5:
            cv2.circle(img, center, int(rng.integers(10, 30)), c, -1, cv2.LINE_AA)
        else:
            axes = (int(rng.integers(15, 40)), int(rng.integers(6, 16)))
            cv2.ellipse(img, center, axes, float(rng.integers(0, 180)), 0, 360, c, -1, cv2.LINE_AA)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), (20, 20, 20), 6)
    return img


def background_texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    tex = fractal_texture(h, w, rng, octaves=6, base=5)
    rgb = np.stack([0.35 + 0.35 * tex[..., 0], 0.45 + 0.4 * tex[..., 1], 0.3 + 0.3 * tex[..., 2]], -1)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def paste_sprite(frame: np.ndarray, sprite: np.ndarray, center: tuple[float, float],
           size: tuple[float, float]) -> None:
    """Draw ``sprite`` scaled to ``size = (w, h)`` with its centre at ``center`` (0-based, sub-pixel)."""
    w, h = size
    small = cv2.resize(sprite, (max(1, round(w)), max(1, round(h))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    # exact size and sub-pixel position in one affine map from sprite pixels to frame pixels
    sx, sy = w / sw, h / sh
    m = np.array([[sx, 0, center[0] - (sw - 1) / 2 * sx], [0, sy, center[1] - (sh - 1) / 2 * sy]])
    cv2.warpAffine(small, m, (frame.shape[1], frame.shape[0]), dst=frame, flags=cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_TRANSPARENT)


def synthetic_sequence(centers: np.ndarray, sizes: np.ndarray, frame_size: tuple[int, int] = FRAME_SIZE,
                       seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames of the demo's target at 0-based ``centers`` (``N x 2``) with ``sizes`` (``N x 2``,
    ``(w, h)``) over its background, and their OTB boxes: a controlled sequence for tests."""
    rng = np.random.default_rng(seed)
    W, H = frame_size
    background = background_texture(rng, W, H)
    sprite = target_texture(rng)
    frames, boxes = [], []
    for c, s in zip(np.asarray(centers, float), np.asarray(sizes, float), strict=True):
        frame = background.copy()
        paste_sprite(frame, sprite, (float(c[0]), float(c[1])), (float(s[0]), float(s[1])))
        frames.append(frame)
        boxes.append(center_to_otb(c, s))
    return frames, np.array(boxes)


def render_clip(seed: int = 0, segments: tuple[tuple[str, int], ...] = SEGMENTS) -> DemoClip:
    """Render the demo clip (deterministic for a ``seed``): 250 frames of 320 x 240 with the
    default ``segments`` (names from :data:`SEGMENTS`, any lengths)."""
    rng = np.random.default_rng(seed)
    W, H = FRAME_SIZE
    background = background_texture(rng, W, H)
    sprite = target_texture(rng)
    occluder = (np.clip(fractal_texture(H, OCCLUDER_WIDTH, rng, 3, 2) * 0.3 + 0.45, 0, 1)
                * [190, 190, 215]).astype(np.uint8)
    labels = [name for name, n in segments for _ in range(n)]
    starts = {name: sum(n for _, n in segments[:i]) for i, (name, _) in enumerate(segments)}
    frames, boxes = [], []
    phase, scale = 0.0, 1.0
    for t, label in enumerate(labels):
        k = t - starts[label]
        n = dict(segments)[label]
        u = k / max(n - 1, 1)  # progress through the segment, 0..1
        speed = 0.085 if label == "motion blur" else 0.022  # radians of the path per frame
        if label == "small target":
            scale = 1.0 - (1.0 - SMALL_SCALE) * min(1.0, u * 1.6)
        elif label == "large scale change":
            scale = SMALL_SCALE + (LARGE_SCALE - SMALL_SCALE) * (0.5 - 0.5 * math.cos(math.pi * u))
        # a Lissajous path kept inside the frame (the margin follows the target's size)
        mx, my = 0.5 * TARGET_SIZE[0] * scale + 12, 0.5 * TARGET_SIZE[1] * scale + 12

        def position(ph: float, mx: float = mx, my: float = my) -> tuple[float, float]:
            return (W / 2 + (W / 2 - mx) * 0.8 * math.sin(ph),
                    H / 2 + (H / 2 - my) * 0.75 * math.sin(1.7 * ph + 0.6))

        size = (TARGET_SIZE[0] * scale, TARGET_SIZE[1] * scale)
        if label == "motion blur":  # average sub-frame renders over the frame's motion
            acc = np.zeros((H, W, 3), np.float32)
            steps = 9
            for j in range(steps):
                f = background.copy()
                paste_sprite(f, sprite, position(phase + speed * (j / (steps - 1) - 0.5)), size)
                acc += f
            frame = (acc / steps).astype(np.uint8)
        else:
            frame = background.copy()
            paste_sprite(frame, sprite, position(phase), size)
        center = position(phase)
        if label == "heavy occlusion":  # a bar sweeps fast across the target, hiding it completely
            ox = center[0] + (u - 0.5) * OCCLUDER_TRAVEL
            x0, x1 = int(round(ox - OCCLUDER_WIDTH / 2)), int(round(ox + OCCLUDER_WIDTH / 2))
            c0, c1 = max(x0, 0), min(x1, W)
            if c1 > c0:
                frame[:, c0:c1] = occluder[:, c0 - x0:c1 - x0]
        if label == "illumination change":  # dims to 30 %, then over-exposes, then back
            gain = 1.0 - 0.7 * math.sin(math.pi * min(1.0, u * 1.8)) if u < 0.55 else \
                1.0 + 0.6 * math.sin(math.pi * (u - 0.55) / 0.45)
            frame = np.clip(frame.astype(np.float32) * gain + (gain - 1.0) * 20, 0, 255).astype(np.uint8)
        frames.append(frame)
        boxes.append(center_to_otb(center, size))
        phase += speed
    return DemoClip(frames, np.array(boxes), labels)


@dataclasses.dataclass
class DemoResult:
    auc: float
    precision: float
    fps: float
    video: Path
    plots: list[Path]
    boxes: Path


def run_demo(out_dir: str | Path = "regtrack-demo", tracker: str | None = None, seed: int = 0,
             params: dict | None = None, video: bool = True,
             segments: tuple[tuple[str, int], ...] = SEGMENTS) -> DemoResult:
    """Render the clip, track it with ``tracker`` (default: the default tracker), write
    ``demo.mp4`` (boxes: tracker green, ground truth red; frame number and difficulty),
    ``boxes.txt``, ``groundtruth_rect.txt`` and the success/precision plots into ``out_dir``."""
    from regtrack.commands.track import DEFAULT_TRACKER, track_frames
    from regtrack.datasets.base import Dataset, Sequence
    from regtrack.evaluation.metrics import aggregate, evaluate_sequence
    from regtrack.evaluation.plots import draw_plots
    from regtrack.evaluation.report import TrackerEvaluation
    from regtrack.evaluation.results import format_boxes
    from regtrack.fileio import atomic_write
    from regtrack.trackers.base import create_tracker
    from regtrack.viz.overlay import VideoWriter, annotate

    name = tracker or DEFAULT_TRACKER
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clip = render_clip(seed, segments)
    boxes, times = track_frames(create_tracker(name, params), clip.frames, clip.gt[0])
    fps = (len(times) - 1) / max(float(times[1:].sum()), 1e-9)
    score = evaluate_sequence(boxes, clip.gt, name="demo")
    atomic_write(out / "boxes.txt", format_boxes(boxes))
    atomic_write(out / "groundtruth_rect.txt", format_boxes(clip.gt))
    video_path = out / "demo.mp4"
    if video:
        with VideoWriter(video_path, clip.fps) as writer:
            for i, frame in enumerate(clip.frames):
                writer.write(annotate(frame, {name: boxes[i], "ground truth": clip.gt[i]}, frame_number=i + 1,
                                      extra=clip.labels[i]))
    seq = Sequence("demo", [out / f"{i:04d}.png" for i in range(len(clip.gt))], clip.gt)
    evaluation = TrackerEvaluation(name, aggregate([score]))
    plots = draw_plots([evaluation], Dataset("regtrack demo", {"demo": seq}), out, attributes=False,
                       formats=("png",))
    return DemoResult(score.auc, score.precision, fps, video_path, plots, out / "boxes.txt")
