"""Sequence-name normalisation (reference.md §2.3 "Naming variants").

``Jogging-1`` / ``Jogging_1`` / ``jogging_1`` / ``Jogging.1`` / ``Jogging1`` all reduce to the key
``jogging1``; ``Jogging(2)`` to ``jogging2``. Names that differ by more than that (``Jogging`` for
Jogging-1, ``Human4`` for Human4-2...) are aliases listed as data in ``regtrack/data/otb.json``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@cache
def otb_meta() -> dict[str, Any]:
    """``regtrack/data/otb.json``: attribute codes, subsets and name aliases of OTB."""
    return json.loads((DATA_DIR / "otb.json").read_text(encoding="utf-8"))


def name_key(name: str) -> str:
    """Lower case, with ``-``, ``_``, ``.``, spaces and brackets removed."""
    return re.sub(r"[\s\-_.()\[\]]", "", name).lower()


def resolve_name(key: str, keys: dict[str, str]) -> str | None:
    """The name in ``keys`` (normalised key -> name) that normalised ``key`` stands for, if any."""
    if key in keys:
        return keys[key]
    aliases = {name_key(a): name_key(t) for a, t in otb_meta()["name_aliases"].items()}
    target = aliases.get(key)
    if target is not None and target in keys:
        return keys[target]
    return None
