"""Shared fixtures. Tests that read real data use ``shared`` (the ``../shared`` folder beside the
checkout, which CI has too); they are skipped, loudly, only where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("REGTRACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip(f"no shared data at {SHARED} (set REGTRACK_SHARED)")
    return SHARED
