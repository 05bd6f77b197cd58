"""``regtrack show compare``: live trackers and published results on one sequence, as a contact
sheet PNG and a video; the one-line errors. Real frames: the first 12 of OTB's Crossing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from regtrack.cli import main
from regtrack.datasets.base import read_boxes
from regtrack.evaluation.results import read_result
from regtrack.viz.compare import (
    GT_COLOUR,
    Tile,
    compare_frame,
    contact_sheet,
    entry_colours,
    legend_strip,
    published_boxes,
    sheet_frames,
)
from regtrack.viz.overlay import draw_box

FRAMES = "12"  # Crossing's first 12 frames (360 x 240): kcf and static take well under a second


@pytest.fixture()
def crossing(shared: Path) -> Path:
    return shared / "data" / "otb" / "Crossing"


@pytest.fixture()
def published(shared: Path) -> Path:
    return shared / "data" / "results" / "OTB100"


def _video_frames(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from ``path`` (BGR)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (frame := cap.read()[1]) is not None:  # read() gives (False, None) at the end
        frames.append(frame)
    cap.release()
    return frames


def _has_colour(img_bgr: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> int:
    return int((np.abs(img_bgr[..., ::-1].astype(int) - np.array(rgb)).max(axis=2) < tol).sum())


def test_compare_writes_sheet_and_video(crossing: Path, published: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    png, mp4 = tmp_path / "sheet.png", tmp_path / "clip.mp4"
    assert main(["show", "compare", str(crossing), "--trackers", "kcf,static", "--results",
                 str(published / "TADT"), "--max-frames", FRAMES, "--frames", "4,8,12", "--out", str(png),
                 "--out-video", str(mp4), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "frames 4, 8, 12" in out and "(12 frames)" in out
    sheet = cv2.imread(str(png))
    # three 360 x 240 tiles in one row, 5 x 3.33 in each at 100 dpi, a legend row (0.5 in) and a title (0.35)
    assert sheet is not None and sheet.shape[:2] == (round(100 * (5 * 240 / 360 + 0.5 + 0.35)), 1500)
    for rgb in entry_colours(["kcf", "static", "TADT"]).values():  # every entry's colour is drawn
        assert _has_colour(sheet, rgb) > 50
    frames = _video_frames(mp4)
    assert len(frames) == 12
    h, w = frames[0].shape[:2]
    assert w == 360 and h > 240  # the frame, and the legend strip under it


def test_compare_mixes_published_with_live(crossing: Path, published: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # TADT: OTB-toolkit .mat named crossing_TADT.mat; UDT: space-separated text; SiamFC: commas
    results = ["--results", str(published / "TADT"), "--results", str(published / "UDT"),
               "--results", str(published / "SiamFC" / "Crossing.txt")]
    assert main(["show", "compare", str(crossing), "--trackers", "static", *results, "--max-frames", FRAMES,
                 "--out", str(tmp_path / "s.png"), "--no-video", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["static", "TADT", "UDT", "SiamFC"]
    assert all("published" in line for line in lines[2:]) and "fps" in lines[1]
    assert not (tmp_path / "compare.mp4").exists()


def test_published_boxes_as_scored(crossing: Path, published: Path) -> None:
    """The authors' TADT file keeps its first row in TADT's resized frame; the sheet draws what
    the toolkit scores: the ground truth on frame 1, the file's rows after it."""
    gt = read_boxes(crossing / "groundtruth_rect.txt")
    raw = read_result(published / "TADT" / "crossing_TADT.mat")
    assert np.abs(raw[0] - gt[0]).max() > 50
    paths = sorted((crossing / "img").iterdir())
    boxes = published_boxes([published / "TADT", published / "TADT"], "Crossing", len(paths), paths, gt,
                            taken=["kcf"])
    assert list(boxes) == ["TADT", "TADT #2"]
    np.testing.assert_array_equal(boxes["TADT"][0], gt[0])
    np.testing.assert_array_equal(boxes["TADT"][1:], raw[1:len(gt)])
    no_gt = published_boxes([published / "TADT"], "Crossing", len(paths), paths, None)
    np.testing.assert_array_equal(no_gt["TADT"], raw[:len(paths)])


def test_compare_video_source_and_result_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A video file without ground truth, a --box, and one result file labelled by its folder."""
    rng = np.random.default_rng(0)
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for _ in range(10):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "clip.txt").write_text("".join(f"{20 + i},30,40,30\n" for i in range(10)))
    mp4 = tmp_path / "v.mp4"
    assert main(["show", "compare", str(clip), "--box", "21,31,40,30", "--trackers", "static",
                 "--results", str(tmp_path / "mine" / "clip.txt"), "--every", "3", "--out",
                 str(tmp_path / "v.png"), "--out-video", str(mp4), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "frames 3, 6, 9" in out and "mine" in out and "AUC" not in out  # nothing to score against
    assert len(_video_frames(mp4)) == 10
    assert cv2.imread(str(tmp_path / "v.png")) is not None


@pytest.mark.parametrize(("extra", "message"), [
    (["--trackers", "kcf,nosuch"], "unknown tracker 'nosuch'"),
    (["--trackers", "kcf,kcf"], "names a tracker twice"),
    (["--results", "/no/such/results"], "no such results folder or file"),
    (["--trackers", "kcf", "--param", "padding=2"], "does not say which tracker"),
    (["--trackers", "kcf", "--param", "dsst.padding=2"], "'dsst' is not in --trackers"),
    (["--trackers", "kcf", "--param", "kcf.nosuch=2"], "has no parameter 'nosuch'"),
    (["--trackers", "kcf", "--frames", "5,999"], "frame 999 is outside 1..12"),
    (["--trackers", "kcf", "--every", "0"], "--every 0 must be at least 1"),
    ([], "nothing to compare"),
    (["--trackers", "kcf", "--out", "sheet.txt"], "a picture is written as .png"),
    (["--trackers", "kcf", "--out-video", "clip.gif"], "cannot write a .gif video"),
])
def test_compare_one_line_errors(crossing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 extra: list[str], message: str) -> None:
    outs = ["--out", str(tmp_path / "s.png"), "--out-video", str(tmp_path / "v.mp4")]
    args = ["show", "compare", str(crossing), "--max-frames", FRAMES, "--no-progress", *outs]
    assert main([*args, *extra]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("regtrack: error:")]
    assert len(errors) == 1 and message in errors[0]
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "v.mp4").exists()


def test_compare_missing_sequence_and_folder_output(crossing: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Mine").mkdir()
    (tmp_path / "Mine" / "Other.txt").write_text("1,1,5,5\n")
    args = ["show", "compare", str(crossing), "--results", str(tmp_path / "Mine"), "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "s.png"), "--no-video"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Mine: no result file for Crossing in this folder" in err[-1] and "Traceback" not in "".join(err)
    # an output that names a folder is found before the sequence and the results are read
    (tmp_path / "v.mp4").mkdir()
    assert main([*args, "--out", str(tmp_path / "s.png"), "--out-video", str(tmp_path / "v.mp4")]) == 2
    assert "--out-video names a folder" in capsys.readouterr().err


def test_sheet_frames() -> None:
    assert sheet_frames(293) == [50, 98, 147, 196, 244, 293]
    assert sheet_frames(293, every=100) == [100, 200]
    assert sheet_frames(3) == [2, 3]
    assert sheet_frames(1) == [1]
    assert sheet_frames(5, every=9) == [1]


def test_picture_parts() -> None:
    frame = np.full((60, 80, 3), 128, np.uint8)
    dashed = draw_box(frame, (11, 11, 40, 30), GT_COLOUR, dashed=True)
    edge = dashed[10, 10:50]  # the top edge: white dashes over a dark outline
    assert (edge.min(axis=1) > 200).any() and (edge.max(axis=1) < 30).any()
    colours = entry_colours(["a", "b"])
    assert GT_COLOUR not in colours.values() and len(set(colours.values())) == 2
    strip = legend_strip(80, colours, with_gt=True)  # too narrow for one row: it wraps
    wide = legend_strip(800, colours, with_gt=True)
    assert strip.shape[1] == 80 and strip.shape[0] % 2 == 0 and strip.shape[0] > wide.shape[0]
    box = np.array([5.0, 5, 10, 10])
    out = compare_frame(frame, 3, {"a": box, "b": None}, colours, np.array([20.0, 20, 9, 9]))
    assert out.shape[0] == 60 + strip.shape[0]
    fig = contact_sheet([Tile(i, frame, {"a": box}) for i in range(1, 8)], colours, False)
    assert len(fig.axes) == 8  # 7 tiles in a 3 x 3 grid, and the legend
    import matplotlib.pyplot as plt

    plt.close(fig)
