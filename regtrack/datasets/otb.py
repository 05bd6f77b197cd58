"""OTB described by data: a pysot-toolkit JSON (``OTB100.json``) or a DCFNet/UDT JSON
(``OTB2015.json``), optionally with the official benchmark's per-sequence files
(``tb100_anno/`` or ``cvpr13_anno/``: ``anno/att/SEQ.txt`` attribute flags, ``initOmit/SEQ.txt``).

The JSON carries each target's frame range and boxes, so every quirk of reference.md §2.3 comes
from the data: David 300-770, Tiger1 6-354 (the last 349 of 354 boxes), Diving 1-215 and
Football1 1-74 (more images than boxes), BlurCar1/3/4 start frames, Board's 5-digit names, and the
two-target videos (Jogging-1/-2 and Skating2-1/-2 share one image folder; Human4-2 is the only
annotated target of Human4). Subsets (OTB-2013, TB-50, TB-100) and attribute codes are in
``regtrack/data/otb.json``. Boxes are OTB ``x,y,w,h`` (1-based).
"""

from __future__ import annotations

import json
from collections.abc import Sequence as SequenceABC
from pathlib import Path
from typing import Any

import numpy as np

from regtrack.datasets.base import Dataset, Sequence, read_boxes
from regtrack.datasets.names import name_key, otb_meta
from regtrack.errors import RegtrackError


def attribute_codes() -> tuple[list[str], dict[str, str], dict[str, str]]:
    """``(codes in display order, code -> long name, any spelling -> code)`` from ``otb.json``."""
    codes, long_names, lookup = [], {}, {}
    for a in otb_meta()["attributes"]:
        codes.append(a["code"])
        long_names[a["code"]] = a["name"]
        for spelling in [a["code"], a["name"], *a.get("aliases", [])]:
            lookup[spelling.lower()] = a["code"]
    return codes, long_names, lookup


def subset_names(subset: str) -> list[str] | None:
    """Target names of an OTB subset (``OTB2013``/``cvpr13``, ``TB50``, ``TB100``/``OTB2015``);
    ``None`` means all targets."""
    meta = otb_meta()
    key = meta["subset_aliases"].get(name_key(subset), subset.upper().replace("-", ""))
    if key not in meta["subsets"]:
        raise RegtrackError(f"unknown OTB subset {subset!r}",
                            fix=f"choose one of {', '.join(meta['subsets'])} (OTB50 means TB-50)")
    return meta["subsets"][key]


def _gt_array(rows: Any, where: str, name: str) -> np.ndarray:
    try:  # the common case: a clean N x 4 list
        arr = np.asarray(rows, dtype=np.float64)
        if arr.ndim == 2 and arr.shape[1] == 4:
            return arr
    except (ValueError, TypeError):
        pass
    out = []
    for i, r in enumerate(rows, start=1):
        r = list(r) if isinstance(r, list | tuple) else [r]
        if len(r) == 8:
            xs, ys = r[0::2], r[1::2]
            r = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        if len(r) != 4:
            raise RegtrackError(f"sequence {name}, box {i} has {len(r)} numbers, expected 4 (x,y,w,h)",
                                path=where, fix="fix the annotation file")
        out.append([np.nan if v is None else float(v) for v in r])
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


class FramePaths(SequenceABC):
    """Frame paths ``root/prefix/rel`` made on access (OTB-100 has 59 000 frames; making them all
    as ``Path`` objects up front costs seconds)."""

    def __init__(self, root: Path, rel: list[str]) -> None:
        self.root, self.rel = root, rel

    def __len__(self) -> int:
        return len(self.rel)

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        if isinstance(i, slice):
            return [self.root / r for r in self.rel[i]]
        return self.root / self.rel[i]


def _locate(root: Path, rel: list[str], name: str) -> FramePaths:
    """Frame paths for ``rel`` names under ``root``, accepting common re-arrangements of OTB folders
    (``Jogging-1/`` copied from ``Jogging/`` as pysot-toolkit's README suggests; no ``img/`` level)."""
    if not rel or (root / rel[0]).is_file():
        return FramePaths(root, rel)
    parts = Path(rel[0]).parts
    if len(parts) >= 2:
        variants = [(parts[0], name)]  # Jogging/img/... -> Jogging-1/img/...
        if parts[1] == "img":
            variants.append((f"{parts[0]}/img", parts[0]))  # no img/ level
        for old, new in variants:
            if (root / (new + rel[0][len(old):])).is_file():
                return FramePaths(root, [new + r[len(old):] for r in rel])
    return FramePaths(root, rel)


def load_otb_json(path: str | Path, root: str | Path | None = None) -> Dataset:
    """Read a pysot-style (``OTB100.json``) or DCFNet-style (``OTB2015.json``) OTB description.

    Frame paths are ``root / img_name`` (pysot) or ``root / NAME / img / file`` (DCFNet); ``root``
    defaults to the JSON's folder. Attributes are converted to codes (IV, SV, ...).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegtrackError("annotation file not found", path=path,
                            fix="give the OTB100.json that describes the sequences") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RegtrackError(f"not valid JSON ({err})", path=path) from None
    if not isinstance(data, dict) or not data:
        raise RegtrackError("expected a JSON object of sequences", path=path)
    root = Path(root) if root is not None else path.parent
    codes, long_names, lookup = attribute_codes()
    seqs: dict[str, Sequence] = {}
    for key, v in data.items():
        if not isinstance(v, dict) or "gt_rect" not in v:
            raise RegtrackError(f"entry {key!r} has no gt_rect", path=path,
                                fix="expected pysot-toolkit (img_names) or DCFNet (image_files) format")
        if "img_names" in v:  # pysot-toolkit format
            name = key
            rel = [str(p) for p in v["img_names"]]
            video = v.get("video_dir", Path(rel[0]).parts[0] if rel else name)
        else:  # DCFNet / UDT format: {"name": "Jogging", "image_files": ["0001.jpg", ...]}
            name = {"jogging_1": "Jogging-1", "jogging_2": "Jogging-2", "skating2_1": "Skating2-1",
                    "skating2_2": "Skating2-2", "human4_2": "Human4-2"}.get(key, v.get("name", key))
            video = v.get("name", name).split("-")[0]
            rel = [f"{video}/img/{f}" for f in v.get("image_files", [])]
        gt = _gt_array(v["gt_rect"], str(path), name)
        if len(rel) != len(gt):
            raise RegtrackError(f"sequence {name}: {len(rel)} image names but {len(gt)} boxes", path=path,
                                fix="the description must list one box per frame")
        attrs = []
        for a in v.get("attr", []):
            code = lookup.get(str(a).lower())
            if code is None:
                raise RegtrackError(f"sequence {name}: unknown attribute {a!r}", path=path,
                                    fix=f"known: {', '.join(long_names.values())}")
            attrs.append(code)
        seqs[name] = Sequence(name, _locate(root, rel, name), gt, attrs, str(video))
    has_attrs = any(s.attributes for s in seqs.values())
    return Dataset(path.stem, seqs, codes if has_attrs else [], long_names if has_attrs else {}, root)


def apply_official_anno(dataset: Dataset, anno_dir: str | Path) -> Dataset:
    """Take attributes (``anno/att/SEQ.txt``, flags in the file order IV, OPR, SV, OCC, DEF, MB,
    FM, IPR, OV, BC, LR) and TRE init-omit ranges (``initOmit/SEQ.txt``) from the official files."""
    anno_dir = Path(anno_dir)
    att_dir = anno_dir / "anno" / "att" if (anno_dir / "anno").is_dir() else anno_dir / "att"
    omit_dir = anno_dir / "initOmit"
    order = otb_meta()["att_file_order"]
    codes, long_names, _ = attribute_codes()
    att_files = {name_key(p.stem): p for p in att_dir.glob("*.txt")} if att_dir.is_dir() else {}
    omit_files = {name_key(p.stem): p for p in omit_dir.glob("*.txt")} if omit_dir.is_dir() else {}
    if not att_files and not omit_files:
        raise RegtrackError("no anno/att/*.txt or initOmit/*.txt files here", path=anno_dir,
                            fix="give the official tb100_anno or cvpr13_anno folder")
    for seq in dataset:
        k = name_key(seq.name)
        if k in att_files:
            text = att_files[k].read_text().replace(",", " ").split()
            if len(text) != len(order):
                raise RegtrackError(f"has {len(text)} flags, expected {len(order)}",
                                    path=att_files[k], line=1)
            seq.attributes = [c for c, f in zip(order, text, strict=True) if float(f) != 0]
        if k in omit_files:
            rows = read_boxes_pairs(omit_files[k])
            seq.init_omit = rows
    if att_files:
        dataset.attributes, dataset.attribute_names = codes, long_names
    return dataset


def apply_attribute_table(dataset: Dataset, path: str | Path) -> Dataset:
    """Replace the attributes with pytracking's table (``otb_attributes.json``: ``{SEQ: [codes]}``
    plus ``att_name_short`` / ``att_name_long``), which differs from the official one on 14 sequences."""
    path = Path(path)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise RegtrackError(f"cannot read the attribute table ({err})", path=path) from None
    codes, long_names, lookup = attribute_codes()
    by_key = {name_key(k): v for k, v in table.items() if not k.startswith("att_name")}
    for seq in dataset:
        found = by_key.get(name_key(seq.name))
        if found is None:
            raise RegtrackError(f"no attributes for sequence {seq.name}", path=path,
                                fix="the table must list every sequence of the dataset")
        seq.attributes = [lookup[str(a).lower()] for a in found if str(a).lower() in lookup]
    dataset.attributes, dataset.attribute_names = codes, long_names
    return dataset


def read_boxes_pairs(path: Path) -> list[tuple[int, int]]:
    """``initOmit/SEQ.txt``: lines of ``start end`` frame numbers (1-based, inclusive)."""
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) != 2:
            raise RegtrackError(f"has {len(parts)} numbers, expected 2 (start end)", path=path, line=lineno)
        out.append((int(float(parts[0])), int(float(parts[1]))))
    return out


def load_otb(annotations: str | Path, root: str | Path | None = None, subset: str | None = None,
             official_anno: str | Path | None = None) -> Dataset:
    """OTB from its JSON description, restricted to ``subset`` (OTB2013 / TB50 / TB100) if given,
    with attributes and init-omit ranges from ``official_anno`` if given: the official
    ``tb100_anno/`` folder, or a pytracking-style ``otb_attributes.json`` file (attributes only)."""
    ds = load_otb_json(annotations, root)
    if official_anno is not None:
        if Path(official_anno).is_file():  # pytracking's otb_attributes.json
            ds = apply_attribute_table(ds, official_anno)
        else:
            ds = apply_official_anno(ds, official_anno)
    if subset:
        names = subset_names(subset)
        if names is not None:
            missing = [n for n in names if n not in ds]
            if missing:
                raise RegtrackError(f"subset {subset} needs {', '.join(missing[:5])}, not in this file",
                                    path=annotations, fix="use the full OTB100.json")
            ds = ds.select(names)
            ds.name = subset
    return ds


def read_otb_groundtruth(path: str | Path) -> np.ndarray:
    """An OTB ``groundtruth_rect.txt`` (any delimiter, CRLF, no final newline) -> ``N x 4``."""
    return read_boxes(path, what="ground-truth file")
