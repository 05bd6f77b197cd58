"""``regtrack demo`` and its synthetic clip."""

import cv2
import numpy as np

from regtrack.cli import main
from regtrack.demo import SEGMENTS, render_clip, run_demo


def test_clip_shows_each_difficulty_with_exact_ground_truth():
    clip = render_clip(0, tuple((name, 6) for name, _ in SEGMENTS))
    assert len(clip.frames) == len(clip.gt) == 6 * len(SEGMENTS)
    assert [clip.labels[i] for i in range(0, len(clip.labels), 6)] == [name for name, _ in SEGMENTS]
    assert clip.frames[0].shape == (240, 320, 3) and clip.frames[0].dtype == np.uint8
    sizes = clip.gt[:, 2] * clip.gt[:, 3]
    labels = np.array(clip.labels)
    assert sizes[labels == "small target"].min() < 0.3 * sizes[0]
    assert sizes[labels == "large scale change"].max() > 2.5 * sizes[0]
    bright = [clip.frames[i].mean() for i in np.flatnonzero(labels == "illumination change")]
    assert min(bright) < 0.6 * clip.frames[0].mean() < max(bright)


def test_run_demo_writes_outputs_that_open(tmp_path):
    short = tuple((name, 8) for name, _ in SEGMENTS)
    result = run_demo(tmp_path, segments=short)
    assert 0 <= result.auc <= 1 and result.fps > 0
    cap = cv2.VideoCapture(str(result.video))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 8 * len(SEGMENTS)
    png = [p for p in result.plots if p.name == "success_overall.png"][0]
    assert cv2.imread(str(png)) is not None


def test_demo_command_on_the_full_clip(tmp_path, capsys):
    """The README's first command: full clip, default tracker; it must also track it well."""
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "AUC" in out and "fps" in out
    auc = float(out.split("AUC ")[1].split(",")[0])
    assert auc > 0.6
    assert (tmp_path / "d" / "demo.mp4").stat().st_size > 10_000
