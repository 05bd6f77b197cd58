"""Datasets found on disk, with no metadata file: any folder of OTB-layout sequences (a user's own
data, DTB70), VOT (polygon ``groundtruth.txt`` -> axis-aligned box), UAV123 (``NAME/`` beside
``NAME.txt``, or ``anno/.../NAME.txt``; NaN rows), GOT-10k (``groundtruth.txt``; the test split's
single first box) and LaSOT (``class/class-N/img/`` + ``groundtruth.txt``).

A sequence folder holds its frames directly, or in ``img/`` (OTB, LaSOT) or ``color/`` (VOT
2020+), and its boxes in ``groundtruth_rect.txt``, ``groundtruth.txt`` or
``groundtruth_rect.N.txt`` (two targets: ``NAME-1``, ``NAME-2``; an empty file is skipped, like
Human4's target 1). Boxes are OTB ``x,y,w,h`` (1-based), one row per frame.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from regtrack.datasets.base import Dataset, Sequence, read_boxes, reconcile_groundtruth
from regtrack.datasets.sources import check_frame_names, list_images
from regtrack.errors import RegtrackError

_GT_NAMES = ("groundtruth_rect.txt", "groundtruth.txt", "groundtruth_rect.1.txt")
_MULTI = re.compile(r"groundtruth_rect[._](\d+)\.txt$")


def _frames_dir(folder: Path) -> Path | None:
    for d in (folder, folder / "img", folder / "color"):
        if d.is_dir() and list_images(d):
            return d
    return None


def _gt_files(folder: Path, root: Path) -> list[tuple[str, Path]]:
    """``(target name, box file)`` pairs for a sequence folder."""
    multi = sorted(((int(m.group(1)), p) for p in folder.glob("groundtruth_rect*.txt")
                    if (m := _MULTI.search(p.name))), key=lambda t: t[0])
    if multi:
        return [(f"{folder.name}-{i}", p) for i, p in multi]
    for name in _GT_NAMES:
        if (folder / name).is_file():
            return [(folder.name, folder / name)]
    for cand in [folder.parent / f"{folder.name}.txt", *root.glob(f"anno/**/{folder.name}.txt")]:
        if cand.is_file():  # UAV123: data_seq/UAV123/NAME/ + anno/UAV123/NAME.txt, or side by side
            return [(folder.name, cand)]
    return []


def load_sequence_folder(folder: str | Path, root: str | Path | None = None,
                         notes: list[str] | None = None) -> list[Sequence]:
    """The targets of one sequence folder (see module docstring); [] if it is not one."""
    folder = Path(folder)
    root = Path(root) if root is not None else folder.parent
    frames_dir = _frames_dir(folder)
    gts = _gt_files(folder, root)
    if frames_dir is None or not gts:
        return []
    frames = check_frame_names(list_images(frames_dir))
    out = []
    for name, path in gts:
        gt = read_boxes(path, allow_empty=True, what="ground-truth file")
        if len(gt) == 0:
            if notes is not None:
                notes.append(f"{path}: empty, target skipped")
            continue
        if len(gt) == 1 and len(frames) > 1:  # GOT-10k test split: only the first box is public
            gt = np.vstack([gt, np.full((len(frames) - 1, 4), np.nan)])
        _, note = reconcile_groundtruth(len(frames), gt, path)
        if note and notes is not None:
            notes.append(note)
        out.append(Sequence(name, frames[: len(gt)], gt, video=folder.name))
    return out


def load_folder_dataset(root: str | Path, max_depth: int = 3) -> Dataset:
    """Every sequence folder under ``root`` (``root`` itself may be one sequence), in natural order."""
    root = Path(root)
    if not root.is_dir():
        raise RegtrackError("dataset folder not found", path=root,
                            fix="give the folder that holds the sequences")
    notes: list[str] = []
    seqs: dict[str, Sequence] = {}

    def key(p: Path) -> list[object]:
        return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]

    def walk(d: Path, depth: int) -> None:
        try:
            found = load_sequence_folder(d, root, notes)
        except RegtrackError as err:  # one broken folder must not hide its siblings
            broken[d.name] = str(err)
            return
        if not found and _frames_dir(d) is not None and d != root:
            notes.append(f"{d}: frames but no ground truth (groundtruth_rect.txt, groundtruth.txt or "
                         f"{d.name}.txt), left out")
            return
        if found:
            for s in found:
                if s.name in seqs:
                    s.name = f"{d.parent.name}/{s.name}"
                seqs[s.name] = s
            return
        if depth >= max_depth:
            return
        for sub in sorted((p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")), key=key):
            if sub.name in ("img", "color", "anno"):
                continue
            walk(sub, depth + 1)

    broken: dict[str, str] = {}
    walk(root, 0)
    if not seqs and len(broken) == 1:
        raise RegtrackError(next(iter(broken.values())))
    if not seqs:
        raise RegtrackError("no sequences found (a sequence is a folder of frames, or with img/, plus "
                            "groundtruth_rect.txt / groundtruth.txt / NAME.txt beside it)", path=root,
                            fix="check the path, or give --annotations with the dataset's JSON")
    return Dataset(root.name, seqs, root=root, notes=notes, broken=broken)


def load_dataset(root: str | Path | None = None, annotations: str | Path | None = None,
                 subset: str | None = None, official_anno: str | Path | None = None) -> Dataset:
    """A dataset from a JSON description (OTB: :func:`regtrack.datasets.otb.load_otb`) or, without
    one, from the folder layout under ``root``."""
    if annotations is not None:
        from regtrack.datasets.otb import load_otb

        return load_otb(annotations, root, subset=subset, official_anno=official_anno)
    if root is None:
        raise RegtrackError("give a dataset root folder or an annotations file",
                            fix="e.g. --root ../shared/data/otb --annotations OTB100.json")
    if subset is not None or official_anno is not None:  # they would be ignored: say so
        raise RegtrackError("--subset and --anno-dir need the dataset's description (--annotations)",
                            fix="add --annotations OTB100.json, or leave them out to scan the folder")
    return load_folder_dataset(root)
