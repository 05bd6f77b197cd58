"""Training videos for UDT: discovery, the pseudo-labelled crops, and the frame-triplet sampler.

Unsupervised crops (UDT, Wang et al. CVPR 2019, sec. 3.3; ``getImdbUDT.m``): every frame of a video
is cropped around the same *central* pseudo box ``[5/12 .. 7/12]`` of the frame (a box of
``W/6 x H/6``), enlarged by ``1 + padding`` (padding 2: the crop is the central half of the frame)
and resized to 125x125. No label is used anywhere. ``pseudo_grid = K > 1`` (regtrack's option, not
the paper's) adds more pseudo tracks per video: ``K x K`` fixed boxes of the same size whose centres
span ``[1/4 .. 3/4]`` of the frame (each crop stays inside it), each track paired only with itself;
a video set too small for the paper's recipe (ILSVRC VID has ~4,000 videos) gets ``K^2`` times more
distinct crops.

Supervised crops (the paper's supervised baseline, DCFNet-style): each frame is cropped around its
ground-truth box, enlarged by ``1 + padding``; frames without a valid box are not sampled.

A video is a folder holding ``img/`` (or the frames directly: ``.jpg``/``.jpeg``/``.png``), at least
two frames, optionally ``groundtruth_rect.txt`` and ``source_frames.txt`` (the original frame number
of each kept frame, so that gaps are measured in real frames).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from regtrack.core.box import otb_to_center
from regtrack.core.sampling import sample_patch
from regtrack.errors import RegtrackError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class Video:
    name: str
    frames: list[Path]
    source_index: np.ndarray  # original frame number of each kept frame
    boxes: np.ndarray | None  # OTB boxes, one row per kept frame, or None


def _natural(p: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def _frames_in(folder: Path) -> list[Path]:
    img = folder / "img" if (folder / "img").is_dir() else folder
    return sorted((p for p in img.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=_natural)


def _read_boxes(path: Path, n: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    rows = []
    for line in path.read_text().splitlines():
        vals = [v for v in re.split(r"[,\s]+", line.strip()) if v]
        if not vals:
            continue
        try:
            rows.append([float(v) for v in vals[:4]] if len(vals) >= 4 else [np.nan] * 4)
        except ValueError:
            rows.append([np.nan] * 4)
    boxes = np.full((n, 4), np.nan)
    m = min(n, len(rows))
    if m:
        boxes[:m] = np.asarray(rows[:m])
    return boxes


def _read_source_index(path: Path, n: int) -> np.ndarray:
    if path.is_file():
        idx = []
        for line in path.read_text().splitlines():
            if line.startswith("#") or "," not in line:
                continue
            digits = re.findall(r"\d+", line.split(",", 1)[1])
            if digits:
                idx.append(int(digits[-1]))
        if len(idx) >= n:
            return np.asarray(idx[:n])
    return np.arange(n)


def find_videos(root: str | Path, need_boxes: bool = False) -> list[Video]:
    """Every usable video under ``root`` (the folder itself, or its sub-folders). Raises a
    one-line :class:`RegtrackError` when there is none."""
    root = Path(root)
    if not root.is_dir():
        raise RegtrackError(
            "not a folder", path=root, fix="give --videos a folder of video folders (each with img/)"
        )
    candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
    videos = []
    for folder in candidates:
        frames = _frames_in(folder) if folder.is_dir() else []
        if len(frames) < 2:
            continue
        boxes = _read_boxes(folder / "groundtruth_rect.txt", len(frames))
        if need_boxes and (boxes is None or not np.any(_valid(boxes))):
            continue
        videos.append(
            Video(folder.name, frames, _read_source_index(folder / "source_frames.txt", len(frames)), boxes)
        )
    if not videos:
        what = "with ground-truth boxes (groundtruth_rect.txt) " if need_boxes else ""
        raise RegtrackError(
            f"no usable training video {what}found (a video is a folder with img/ and 2+ frames)",
            path=root,
            fix="point --videos at a folder like ../shared/data/train",
        )
    return videos


def _valid(boxes: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 1) & (boxes[:, 3] > 1)


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise RegtrackError("cannot decode this training frame", path=path, fix="remove or replace the file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass
class CropBank:
    """All crops in memory (uint8 ``N x S x S x 3``) with, for each crop, the range of later crops
    of the same video that may be paired with it."""

    crops: np.ndarray
    video: np.ndarray  # video id of each crop
    next_hi: np.ndarray  # last crop index (inclusive) a pair may reach from this crop
    usable: np.ndarray  # crop indices that may be the template x
    names: list[str]


def build_crops(
    videos: list[Video],
    supervised: bool,
    size: int = 125,
    padding: float = 2.0,
    max_step: int = 10,
    progress: bool = True,
    pseudo_grid: int = 1,
) -> CropBank:
    """Crop every frame (see the module doc). ``max_step``: the largest gap between the template
    and a search frame, in original frames (``getDagNNBatch`` in ``train_UDT.m``: ``maxStep = 10``);
    always at least one kept frame, for strided videos. ``pseudo_grid``: pseudo tracks per side
    (unsupervised only; 1 = the paper's central box)."""
    from tqdm import tqdm

    crops, vid, hi, usable = [], [], [], []
    total = sum(len(v.frames) for v in videos)
    bar = tqdm(total=total, desc="cropping", unit="frame", disable=not progress, leave=False)
    for vi, v in enumerate(videos):
        valid = _valid(v.boxes) if (supervised and v.boxes is not None) else np.ones(len(v.frames), bool)
        keep = np.flatnonzero(valid)
        # the pseudo boxes' centres as fractions of the frame: the central one (getImdbUDT.m), or
        # a K x K grid over [1/4, 3/4]
        fractions = [0.5] if supervised or pseudo_grid <= 1 else list(np.linspace(0.25, 0.75, pseudo_grid))
        tracks: list[list[np.ndarray]] = [[] for _ in range(len(fractions) ** 2)]
        for j in keep:
            image = _read_rgb(v.frames[j])
            H, W = image.shape[:2]
            if supervised:
                center, tsize = otb_to_center(v.boxes[j])  # type: ignore[index]
                tracks[0].append(sample_patch(image, center, tsize * (1.0 + padding), (size, size)))
            else:  # pseudo boxes of W/6 x H/6: the central one is [5/12, 7/12] (getImdbUDT.m)
                tsize = np.array([W / 6.0, H / 6.0])
                for t, (fy, fx) in enumerate((fy, fx) for fy in fractions for fx in fractions):
                    center = np.array([fx * W - 0.5, fy * H - 0.5])  # fraction 1/2 -> (W - 1) / 2
                    tracks[t].append(sample_patch(image, center, tsize * (1.0 + padding), (size, size)))
            bar.update(1)
        src = v.source_index[keep]
        # later crops within max_step original frames, at least the next one: the same reach for
        # every track of this video, offset by where the track starts in the bank
        reach = np.minimum(np.maximum(np.searchsorted(src, src + max_step, side="right") - 1,
                                      np.arange(len(keep)) + 1), len(keep) - 1)
        for track in tracks:
            base = len(crops)
            crops.extend(track)
            vid.extend([vi] * len(track))
            hi.extend((base + reach).tolist())
            usable.extend(range(base, base + len(keep) - 1))
        bar.update(int(np.sum(~valid)))
    bar.close()
    if not usable:
        raise RegtrackError("no video has two usable frames", fix="add longer videos")
    return CropBank(
        np.stack(crops), np.asarray(vid), np.asarray(hi), np.asarray(usable), [v.name for v in videos]
    )


def sample_triplets(bank: CropBank, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n x 3`` crop indices ``(x, z1, z2)``: a random template and two independent later frames
    within its reach (``rand_next1``, ``rand_next2`` in ``train_UDT.m``)."""
    x = rng.choice(bank.usable, size=n)
    span = bank.next_hi[x] - x  # >= 1
    z1 = x + 1 + (rng.random(n) * span).astype(np.int64)
    z2 = x + 1 + (rng.random(n) * span).astype(np.int64)
    return np.stack([x, np.minimum(z1, bank.next_hi[x]), np.minimum(z2, bank.next_hi[x])], axis=1)
