"""Process-wide runtime helpers: the device choice and the warning for bfloat16 on a CPU that
only emulates it."""

from __future__ import annotations

import warnings

import pytest
import torch

from regtrack import runtime
from regtrack.errors import RegtrackError


def test_select_device_refuses_a_missing_gpu(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.select_device("auto") == torch.device("cpu")
    with pytest.raises(RegtrackError, match="device=cpu"):
        runtime.select_device("cuda")


@pytest.mark.parametrize(("capability", "bf16_units", "slow"),
                         [("AVX2", False, True), ("AVX512", False, True), ("AVX512", True, False)])
def test_bfloat16_warning_follows_the_cpu(monkeypatch, capability: str, bf16_units: bool,  # noqa: ANN001
                                          slow: bool) -> None:
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16_units)
    cpu = torch.device("cpu")
    assert runtime.bfloat16_is_slow(cpu) is slow
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runtime.warn_if_bfloat16_is_slow(cpu, backbone_dtype="bfloat16", head_dtype="float32")
        runtime.warn_if_bfloat16_is_slow(cpu, backbone_dtype="float32")  # float32 never warns
    assert len(caught) == int(slow)
    if slow:
        message = str(caught[0].message)
        assert "backbone_dtype=bfloat16" in message and "head_dtype" not in message and "\n" not in message
    assert not runtime.bfloat16_is_slow(torch.device("cuda"))  # a GPU's bf16 is its own business


def test_a_tracker_asked_for_emulated_bfloat16_warns(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(runtime, "bfloat16_is_slow", lambda device: True)
    from regtrack.trackers.base import create_tracker

    with pytest.warns(RuntimeWarning, match="backbone_dtype=bfloat16"):
        create_tracker("crest", {"weights": "random", "backbone_dtype": "bfloat16"})
