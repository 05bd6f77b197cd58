"""Sequences, datasets, and the one ground-truth / box-file reader every loader uses.

Boxes are OTB boxes ``[x, y, w, h]`` (1-based, :mod:`regtrack.core.box`); an ``N x 4`` float
array per sequence, row ``i`` for frame ``i`` of the sequence. A row of NaN (UAV123, LaSOT) or of
zeros is kept: the protocol treats it as an invalid frame (:mod:`regtrack.evaluation.metrics`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from regtrack.datasets.sources import read_image
from regtrack.errors import RegtrackError

_SPLIT = re.compile(r"[,;\s]+")


def polygon_to_box(poly: np.ndarray) -> np.ndarray:
    """VOT polygon rows ``x1,y1,...,x4,y4`` -> their axis-aligned bounding OTB boxes ``x,y,w,h``."""
    p = np.asarray(poly, dtype=np.float64).reshape(len(poly), -1)
    xs, ys = p[:, 0::2], p[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def read_boxes(path: str | Path, *, allow_empty: bool = False, what: str = "box file") -> np.ndarray:
    """Read a box file (ground truth or results) -> ``N x 4`` float OTB boxes.

    Accepts comma, tab, space or semicolon delimiters, CRLF line ends, no final newline, blank
    lines at the end, ``NaN`` rows, and 8-value VOT polygons (converted to axis-aligned boxes).
    Row ``i`` is frame ``i``, so a blank line before the last box (every later box would be one
    frame off), a line with another count of numbers, or text that is not a number raises
    :class:`RegtrackError` naming ``file:line``. An empty file raises too unless ``allow_empty``.
    ``what`` names the file in messages ("ground-truth file", "results file").
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise RegtrackError(f"{what} not found", path=path,
                            fix="check the dataset root / results folder") from None
    except IsADirectoryError:
        raise RegtrackError(f"{what} expected, but this is a folder", path=path) from None
    except OSError as err:
        raise RegtrackError(f"cannot read {what} ({err.strerror})", path=path) from None
    raw = text.splitlines()
    while raw and not raw[-1].strip():  # blank lines at the end are only line ends
        raw.pop()
    # Fast path: every line holds four numbers (NumPy parses them at once).
    lines = [_SPLIT.sub(" ", t).strip() for t in raw]
    if lines and all(ln.count(" ") == 3 for ln in lines):
        try:
            return np.array(" ".join(lines).split(), dtype=np.float64).reshape(-1, 4)
        except ValueError:
            pass  # a word that is not a number: the line-by-line parser below names the line
    rows: list[list[float]] = []
    for lineno, line in enumerate(raw, start=1):
        line = line.strip().strip(",;")
        if not line:
            raise RegtrackError(f"blank line inside the {what}: every later box would be one frame off",
                                path=path, line=lineno,
                                fix="write NaN,NaN,NaN,NaN for a frame without a box, or delete the line")
        parts = [t for t in _SPLIT.split(line) if t]
        try:
            values = [float(t) for t in parts]
        except ValueError:
            raise RegtrackError(f"not a line of numbers: {line[:60]!r}", path=path, line=lineno,
                                fix="each line must be x,y,w,h (or an 8-value polygon)") from None
        if len(values) == 8:
            values = list(polygon_to_box(np.array([values]))[0])
        elif len(values) != 4:
            raise RegtrackError(f"has {len(values)} numbers, expected 4 (x,y,w,h) or 8 (polygon)",
                                path=path, line=lineno, fix="fix or remove this line")
        rows.append(values)
    if not rows:
        if allow_empty:
            return np.zeros((0, 4))
        fix = "delete it so the run is redone" if what == "results file" else \
            "restore it from the dataset (one x,y,w,h line a frame)"
        raise RegtrackError(f"{what} is empty", path=path, fix=fix)
    return np.asarray(rows, dtype=np.float64)


def reconcile_groundtruth(n_frames: int | None, gt: np.ndarray, path: str | Path) -> tuple[int, str | None]:
    """How many frames ground truth ``gt`` (row ``i`` = frame ``i``) scores, and a note to show.

    Equal counts score every frame; a single row is only the first box (GOT-10k's test split);
    fewer rows than frames cover the first frames (OTB's Diving and Football1 have extra images
    at the end), said in the note. More rows than frames means frames are missing, so the rows
    cannot be matched to the frames: a :class:`RegtrackError`.
    """
    n_gt = len(gt)
    if n_frames is None or n_gt == n_frames:
        return (n_gt if n_gt > 1 else 0), None
    if n_gt > n_frames:
        raise RegtrackError(f"{n_gt} boxes but only {n_frames} frames: the boxes cannot be matched to the "
                            "frames", path=path,
                            fix="restore the missing frames, or cut the box file to the frames present")
    if n_gt == 1:
        return 0, None
    return n_gt, (f"{path}: {n_gt} boxes for {n_frames} frames; they are taken as the first {n_gt} frames' "
                  "and only those are scored")


@dataclass
class Sequence:
    """One target in one video: frame paths and OTB ground-truth boxes, one row per frame."""

    name: str
    frames: list[Path]  # or any sequence of Paths (regtrack.datasets.otb.FramePaths)
    gt: np.ndarray
    attributes: list[str] = field(default_factory=list)
    video: str = ""
    init_omit: list[tuple[int, int]] = field(default_factory=list)  # 1-based frame ranges (TRE)

    def __post_init__(self) -> None:
        self.gt = np.asarray(self.gt, dtype=np.float64).reshape(-1, 4)
        if len(self.frames) != len(self.gt):
            raise RegtrackError(f"sequence {self.name}: {len(self.frames)} frames but {len(self.gt)} boxes",
                                fix="the annotation and the frame list must have one row per frame")

    def __len__(self) -> int:
        return len(self.gt)

    def __repr__(self) -> str:
        return f"Sequence({self.name!r}, frames={len(self)})"

    @property
    def init_box(self) -> np.ndarray:
        """The first frame's OTB box."""
        return self.gt[0].copy()

    def missing_frames(self) -> list[Path]:
        """Frame files that are not on disk."""
        return [p for p in self.frames if not p.is_file()]

    def is_present(self) -> bool:
        """The sequence is on disk (its first frame is; :meth:`missing_frames` lists any gaps)."""
        return bool(len(self.frames)) and self.frames[0].is_file()

    def image(self, i: int) -> np.ndarray:
        """Frame ``i`` (0-based) as ``H x W x 3`` uint8 RGB; a missing file raises naming it."""
        return read_image(self.frames[i])

    def images(self, start: int = 0) -> Iterator[np.ndarray]:
        """RGB frames from index ``start`` (0-based) to the end."""
        for p in self.frames[start:]:
            yield read_image(p)


@dataclass
class Dataset:
    """An ordered set of sequences plus the attribute codes it defines (may be empty)."""

    name: str
    sequences: dict[str, Sequence]
    attributes: list[str] = field(default_factory=list)
    attribute_names: dict[str, str] = field(default_factory=dict)
    root: Path | None = None
    notes: list[str] = field(default_factory=list)
    # folder name -> the one-line error that kept it out (a folder scan goes on past a broken
    # folder; asking for it by name raises that error)
    broken: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences.values())

    def __contains__(self, name: str) -> bool:
        return self.resolve(name) is not None

    def __getitem__(self, name: str) -> Sequence:
        key = self.resolve(name)
        if key is None:
            raise RegtrackError(f"no sequence {name!r} in {self.name}",
                                fix=f"names are like {', '.join(list(self.sequences)[:5])} ...")
        return self.sequences[key]

    def names(self) -> list[str]:
        return list(self.sequences)

    def resolve(self, name: str) -> str | None:
        """The dataset's name for ``name`` (case, ``-``/``_``/``.`` and ``(2)`` variants accepted)."""
        if name in self.sequences:
            return name
        from regtrack.datasets.names import name_key, resolve_name

        return resolve_name(name_key(name), {name_key(k): k for k in self.sequences})

    def select(self, names: list[str] | None) -> Dataset:
        """The sub-dataset with ``names`` (in this dataset's order); unknown names raise."""
        if not names:
            return self
        keys = []
        for n in names:
            k = self.resolve(n.strip())
            if k is None and n.strip() in self.broken:
                raise RegtrackError(self.broken[n.strip()])
            if k is None:
                raise RegtrackError(f"no sequence {n.strip()!r} in {self.name}",
                                    fix=f"names are like {', '.join(list(self.sequences)[:5])} ...")
            keys.append(k)
        wanted = set(keys)
        return Dataset(self.name, {k: s for k, s in self.sequences.items() if k in wanted},
                       self.attributes, self.attribute_names, self.root, list(self.notes))

    def present(self) -> tuple[Dataset, list[str]]:
        """``(dataset of the sequences on disk, names of the absent ones)``
        (:meth:`Sequence.is_present`)."""
        have = {k: s for k, s in self.sequences.items() if s.is_present()}
        absent = [k for k in self.sequences if k not in have]
        return (Dataset(self.name, have, self.attributes, self.attribute_names, self.root, list(self.notes)),
                absent)

    def attribute_counts(self) -> dict[str, int]:
        """Number of sequences with each attribute code, in the dataset's attribute order."""
        return {a: sum(a in s.attributes for s in self) for a in self.attributes}
