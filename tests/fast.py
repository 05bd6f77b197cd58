"""The dtype in which the real-sequence tests run the deep trackers' fast configuration:
bfloat16 where the CPU has bf16 units (AVX-512 BF16 / AMX: about twice float32's speed), float32
where bf16 is only emulated (an AVX2-only CPU: ~100x slower, and a test would time out)."""

from __future__ import annotations

import torch

from regtrack.runtime import bfloat16_is_slow

FAST_DTYPE = "float32" if bfloat16_is_slow(torch.device("cpu")) else "bfloat16"
