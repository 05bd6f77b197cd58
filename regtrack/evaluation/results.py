"""Reading other people's tracking results, and writing ours.

Read: OTB-toolkit ``.mat`` files (``results{1}.res``; MATLAB v5 through SciPy, v7.3 through h5py),
pysot / got10k comma text, pytracking tab text, space-separated text (:func:`read_result`); the
file of each sequence is found under the many names in use (``SEQ_CF2.mat``, ``Jogging(2).txt``,
``jogging_1.txt``, ``Human4.txt``, lower-case first letters...; :func:`find_result_files`); rows
are aligned with the ground truth (:func:`align_result`; Tiger1's 354 rows from image 1, a missing
last row on an invalid frame).

Write: ``SEQ.txt`` with one comma-separated OTB box ``x,y,w,h`` (1-based) per frame and
``SEQ_time.txt`` with one time in seconds per frame, each written to a temporary file and moved
into place with ``os.replace``, so a file that exists is complete (:func:`write_result`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from regtrack.datasets.base import Sequence, read_boxes
from regtrack.datasets.names import name_key, otb_meta
from regtrack.errors import RegtrackError
from regtrack.fileio import atomic_write

RESULT_EXTENSIONS = (".txt", ".mat")
_SIDE_FILES = re.compile(r"(_time|_times|_fps|_confidence|_scores?)\.txt$", re.IGNORECASE)


@dataclass
class RunResult:
    """One run of a tracker on one sequence, as the OTB toolkit stores it (one cell of ``results``)."""

    boxes: np.ndarray
    type: str = "rect"
    start_frame: int = 1
    anno_begin: int = 1
    shift_type: str = ""
    fps: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _scalar(v: Any, default: Any = None) -> Any:
    if v is None:
        return default
    try:
        arr = np.asarray(v).ravel()
        if arr.size == 0:
            return default
        x = arr[0]
        return x.item() if hasattr(x, "item") else x
    except Exception:  # noqa: BLE001 - odd MATLAB content: fall back to the default
        return default


def _str(v: Any) -> str:
    arr = np.asarray(v)
    if arr.dtype.kind in "US":
        return "".join(str(s) for s in arr.ravel())
    if arr.dtype.kind in "ui":  # MATLAB chars stored as uint16 (v7.3)
        return "".join(chr(int(c)) for c in arr.ravel())
    return str(_scalar(v, ""))


def _run_from(fields: dict[str, Any], path: Path) -> RunResult:
    if "res" not in fields:
        raise RegtrackError("results struct has no 'res' field", path=path,
                            fix="expected the OTB toolkit's results{i}.res (N x 4 boxes)")
    boxes = np.asarray(fields["res"], dtype=np.float64)  # often uint8/uint16: cast before arithmetic
    if boxes.ndim == 2 and boxes.shape[1] != 4 and boxes.shape[0] == 4:
        boxes = boxes.T
    rtype = _str(fields["type"]) if "type" in fields else "rect"
    if rtype != "rect":
        raise RegtrackError(f"results of type {rtype!r}; only 'rect' (x,y,w,h) boxes are supported",
                            path=path, fix="convert the results to rectangles first")
    fps = _scalar(fields.get("fps"))
    return RunResult(boxes=boxes.reshape(-1, 4) if boxes.size else np.zeros((0, 4)), type=rtype,
                     start_frame=int(_scalar(fields.get("startFrame"), 1)),
                     anno_begin=int(_scalar(fields.get("annoBegin"), 1)),
                     shift_type=_str(fields["shiftType"]) if "shiftType" in fields else "",
                     fps=float(fps) if fps is not None else None)


def _read_mat_v5(path: Path) -> list[RunResult]:
    import scipy.io

    m = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    if "results" in m:
        cells = np.atleast_1d(m["results"])
        if cells.dtype != object and cells.ndim == 2:  # a plain matrix called results
            return [RunResult(np.asarray(cells, dtype=np.float64))]
        runs = []
        for c in cells.ravel():
            if hasattr(c, "_fieldnames"):
                runs.append(_run_from({k: getattr(c, k) for k in c._fieldnames}, path))
            elif isinstance(c, np.ndarray) and c.dtype != object:
                runs.append(RunResult(np.asarray(c, dtype=np.float64)))
        return runs
    for key in ("res", "rects", "boxes", "bboxes"):
        if key in m:
            return [RunResult(np.asarray(m[key], dtype=np.float64).reshape(-1, 4))]
    keys = [k for k in m if not k.startswith("__")]
    raise RegtrackError(f"no 'results' variable in this .mat (it has: {', '.join(keys) or 'nothing'})",
                        path=path, fix="expected an OTB-toolkit result file (results{1}.res)")


def _read_mat_v73(path: Path) -> list[RunResult]:
    import h5py

    with h5py.File(str(path), "r") as f:
        if "results" not in f:
            for key in ("res", "rects"):
                if key in f:
                    return [RunResult(np.asarray(f[key][()], dtype=np.float64).T.reshape(-1, 4))]
            raise RegtrackError("no 'results' variable in this MATLAB v7.3 file", path=path,
                                fix="expected an OTB-toolkit result file (results{1}.res)")
        obj = f["results"]
        groups = []
        if isinstance(obj, h5py.Group):  # a struct (array) saved directly
            groups = [obj]
        elif obj.dtype == h5py.ref_dtype:  # a cell array: object references
            groups = [f[r] for r in np.asarray(obj[()]).ravel(order="F")]
        else:
            return [RunResult(np.asarray(obj[()], dtype=np.float64).T.reshape(-1, 4))]
        runs = []
        for g in groups:
            if isinstance(g, h5py.Group):
                # MATLAB writes column-major arrays: h5py sees them transposed (4 x N).
                fields = {k: np.asarray(g[k][()]).T for k in g.keys() if isinstance(g[k], h5py.Dataset)}
                runs.append(_run_from(fields, path))
            else:
                runs.append(RunResult(np.asarray(g[()], dtype=np.float64).T.reshape(-1, 4)))
        return runs


def read_mat_results(path: str | Path) -> list[RunResult]:
    """All runs in an OTB-toolkit ``.mat`` (1 for OPE, 20 for TRE, 12 for SRE); v5 or v7.3."""
    path = Path(path)
    if not path.is_file():
        raise RegtrackError("result file not found", path=path)
    try:
        import h5py

        if h5py.is_hdf5(str(path)):
            return _read_mat_v73(path)
        return _read_mat_v5(path)
    except RegtrackError:
        raise
    except Exception as err:  # noqa: BLE001 - any decoder failure is one line for the user
        raise RegtrackError(f"cannot read this .mat file ({type(err).__name__}: {err})", path=path,
                            fix="re-export it from MATLAB with save(..., 'results')") from None


def read_result(path: str | Path) -> np.ndarray:
    """One result file -> ``N x 4`` float OTB boxes (``.mat``: the first run; text: any delimiter)."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        runs = read_mat_results(path)
        if not runs or runs[0].boxes.size == 0:
            raise RegtrackError("empty result file", path=path, fix="re-run the tracker on this sequence")
        return runs[0].boxes
    boxes = read_boxes(path, allow_empty=True, what="results file")
    if len(boxes) == 0:
        raise RegtrackError("empty result file", path=path,
                            fix="re-run the tracker on this sequence (delete the file to let eval redo it)")
    return boxes


def _candidates(stem: str) -> list[str]:
    """Normalised keys a result file's stem may stand for, best first."""
    keys = [name_key(stem)]
    parts = stem.split("_")
    for k in range(len(parts) - 1, 0, -1):  # SEQ_TRACKER.mat, SEQ_MY_TRACKER.mat (OTB toolkit)
        keys.append(name_key("_".join(parts[:k])))
    return keys


def find_result_files(folder: str | Path, names: list[str]) -> tuple[dict[str, Path], list[str]]:
    """Match sequence ``names`` to result files in ``folder`` -> ``({name: path}, unmatched names)``.

    Accepts case variants, ``-``/``_``/``.``/``(2)`` variants, an OTB-toolkit ``_TRACKER`` suffix,
    and the aliases of ``regtrack/data/otb.json`` (``Jogging`` = Jogging-1, ``Human4`` = Human4-2).
    """
    folder = Path(folder)
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in RESULT_EXTENSIONS
             and not _SIDE_FILES.search(p.name) and not p.name.startswith(".")]
    by_key: dict[str, Path] = {}
    cands = {p: _candidates(p.stem) for p in files}
    for rank in range(max((len(c) for c in cands.values()), default=0)):  # full-stem matches win
        for p, c in cands.items():
            if rank < len(c):
                by_key.setdefault(c[rank], p)
    aliases = {name_key(a): name_key(t) for a, t in otb_meta()["name_aliases"].items()}
    reverse: dict[str, list[str]] = {}
    for a, t in aliases.items():
        reverse.setdefault(t, []).append(a)
    found, missing = {}, []
    for n in names:
        k = name_key(n)
        path = by_key.get(k)
        if path is None:
            for a in reverse.get(k, []):
                if a in by_key:
                    path = by_key[a]
                    break
        if path is None:
            missing.append(n)
        else:
            found[n] = path
    return found, missing


def first_frame_number(seq: Sequence) -> int:
    """The image number of a sequence's first frame (``0300.jpg`` -> 300; 1 if it has none)."""
    if not len(seq.frames):
        return 1
    digits = re.findall(r"\d+", seq.frames[0].stem)
    return int(digits[-1]) if digits else 1


def align_result(boxes: np.ndarray, seq: Sequence, path: str | Path = "") -> np.ndarray:
    """Rows of ``boxes`` (OTB ``x,y,w,h``) for exactly the sequence's frames.

    * longer and the tracker started at image 1 where the sequence starts later (Tiger1's 354 rows
      for frames 6-354; David from 1 for 300-770): the leading rows are dropped;
    * otherwise longer (Diving's 231 images, 215 boxes): the extra last rows are dropped;
    * shorter only by frames whose ground truth is invalid (CREST's Board and Twinnings, whose
      last frame is all zeros): padded with NaN, which the protocol scores as the MATLAB toolkit
      does (those frames count -1 either way);
    * otherwise shorter: :class:`RegtrackError` naming the file.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n, m = len(boxes), len(seq)
    if n == m:
        return boxes
    if n > m:
        first = first_frame_number(seq)
        if first > 1 and n == m + first - 1:
            return boxes[first - 1:]
        return boxes[:m]
    from regtrack.evaluation.metrics import valid_gt

    if n > 0 and not valid_gt(seq.gt[n:]).any():
        return np.vstack([boxes, np.full((m - n, 4), np.nan)])
    raise RegtrackError(f"short result file: {n} rows for the {m} frames of {seq.name}", path=path or None,
                        fix="re-run the tracker on this sequence (delete the file to let eval redo it), "
                        "or check the results are for this dataset")


def sequence_result(where: str | Path, seq: Sequence) -> tuple[np.ndarray, Path]:
    """``seq``'s boxes from a tracker's results: ``where`` is a folder of per-sequence files (the
    file is found as :func:`find_result_files` finds it: ``Bolt2.txt``, ``Bolt2_TADT.mat``,
    ``bolt2_CF2.mat``...) or one result file. Returns ``(boxes aligned to seq's frames by
    :func:`align_result`, the file read)``; a missing folder, file or sequence is a one-line
    :class:`RegtrackError` naming it."""
    where = Path(where).expanduser()
    if where.is_dir():
        found, _ = find_result_files(where, [seq.name])
        if seq.name not in found:
            raise RegtrackError(f"no result file for {seq.name} in this folder", path=where,
                                fix=f"give the file itself, or a folder holding {seq.name}.txt or an "
                                f"OTB-toolkit {seq.name}_TRACKER.mat")
        path = found[seq.name]
    elif where.is_file():
        path = where
    else:
        raise RegtrackError("no such results folder or file", path=where,
                            fix="give a folder of per-sequence result files (.../OTB100/TADT) or one file")
    return align_result(read_result(path), seq, path), path


def format_boxes(boxes: np.ndarray) -> str:
    """OTB boxes -> comma-separated ``x,y,w,h`` lines (4 decimals, trailing zeros trimmed)."""
    def fmt(v: float) -> str:
        return "nan" if not np.isfinite(v) else f"{v:.4f}".rstrip("0").rstrip(".")

    rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return "".join(",".join(fmt(v) for v in row) + "\n" for row in rows)


def result_path(out_dir: str | Path, name: str) -> Path:
    """Where sequence ``name``'s boxes go: ``OUT/NAME.txt`` (times in ``OUT/NAME_time.txt``)."""
    return Path(out_dir) / f"{name}.txt"


def write_result(out_dir: str | Path, name: str, boxes: np.ndarray, times: np.ndarray | None = None) -> Path:
    """Write ``NAME.txt`` (comma OTB boxes) and ``NAME_time.txt`` (seconds per frame), atomically.

    The times are written first and the boxes last, so an existing ``NAME.txt`` means the sequence
    finished (this is what resuming relies on).
    """
    path = result_path(out_dir, name)
    if times is not None:
        atomic_write(path.with_name(f"{name}_time.txt"),
                      "\n".join(f"{float(t):.6f}" for t in np.ravel(times)) + "\n")
    atomic_write(path, format_boxes(boxes))
    return path


def read_times(out_dir: str | Path, name: str) -> np.ndarray | None:
    """Per-frame seconds written by :func:`write_result`, or None."""
    p = Path(out_dir) / f"{name}_time.txt"
    if not p.is_file():
        return None
    vals = [float(v) for v in p.read_text().split()]
    return np.asarray(vals)
