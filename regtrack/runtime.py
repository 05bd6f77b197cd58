"""Process-wide settings that make the trackers fast on a plain CPU.

Why: a tracker allocates the same few large arrays every frame (UDT: 3 x 32 x 125 x 125 float32
feature maps, 6 MB each). glibc serves a block that large with ``mmap`` and, on ``free``, hands it
straight back to the OS (or trims the heap top), so every frame touches fresh pages: about 1,500
page faults per map. On this project's 2-core machine that doubled UDT's time per frame (its LRN
went from 6 ms to 26 ms). Keeping freed memory in the process removes the cost; the price is that
up to ``trim_threshold`` bytes of freed memory stay reserved.

:func:`keep_freed_memory` is called once per process by :class:`regtrack.trackers.base.Tracker`.
Set ``REGTRACK_MALLOC_TUNING=0`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_applied: bool | None = None


def keep_freed_memory(mmap_threshold: int = 64 << 20, trim_threshold: int = 512 << 20) -> bool:
    """Ask glibc to serve blocks below ``mmap_threshold`` bytes from the heap and to keep up to
    ``trim_threshold`` bytes of freed heap for reuse. Once per process; returns whether the
    setting is in force (False on a non-glibc platform or when ``REGTRACK_MALLOC_TUNING=0``)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("REGTRACK_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
        mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    )
    log.debug("mallopt mmap_threshold=%d trim_threshold=%d: %s", mmap_threshold, trim_threshold, ok)
    _applied = ok
    return ok


def select_device(name: str) -> torch.device:
    """The torch device a tracker's ``device`` parameter names: ``auto`` (CUDA when torch sees a
    GPU, else the CPU), ``cpu`` or ``cuda`` (a clear error when there is none)."""
    import torch

    from regtrack.errors import RegtrackError

    if name == "cuda" and not torch.cuda.is_available():
        raise RegtrackError("--param device=cuda but torch sees no CUDA device",
                            fix="use device=auto or device=cpu")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")
