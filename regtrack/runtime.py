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
import warnings
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


def bfloat16_is_slow(device: torch.device) -> bool:
    """Whether bfloat16 maths on ``device`` is emulated: a CPU without AVX-512 BF16 (or AMX)
    converts every bf16 product to fp32 and back. Measured on an AVX2-only AMD EPYC (Zen 2):
    a 1024^2 matmul at 0.7 GFLOP/s in bf16 against 74 GFLOP/s in fp32, one thread."""
    import torch

    if device.type != "cpu":
        return False
    capability = torch.backends.cpu.get_cpu_capability()  # "AVX2", "AVX512", "NO AVX", ...
    return not (capability.startswith("AVX512") and torch.cpu._is_avx512_bf16_supported())


def warn_if_bfloat16_is_slow(device: torch.device, **dtypes: str) -> None:
    """A one-line warning when a tracker is asked for bfloat16 (``backbone_dtype=bfloat16`` and
    the like) on a CPU that only emulates it: the fast configuration becomes ~100x slower than
    float32 there. Results stay valid, so this warns instead of refusing."""
    asked = [name for name, dtype in dtypes.items() if dtype == "bfloat16"]
    if asked and bfloat16_is_slow(device):
        warnings.warn(
            f"{', '.join(f'{n}=bfloat16' for n in asked)}: this CPU has no AVX-512 BF16 units, so "
            "bfloat16 is emulated and far slower than float32; use float32 (the default) here",
            RuntimeWarning, stacklevel=3)
