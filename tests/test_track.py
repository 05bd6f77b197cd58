"""``regtrack track``: image folders (with and without ground truth), videos, the outputs, and
one-line errors."""

import cv2
import numpy as np
import pytest

from regtrack.cli import main
from regtrack.commands.track import DEFAULT_TRACKER, find_groundtruth, parse_box
from regtrack.datasets.base import read_boxes
from regtrack.demo import synthetic_sequence
from regtrack.errors import RegtrackError


@pytest.fixture(scope="module")
def clip():
    n = 12
    centers = np.array([120.0, 100.0]) + np.arange(n)[:, None] * np.array([3.0, 1.5])
    return synthetic_sequence(centers, np.tile([44.0, 36.0], (n, 1)))


@pytest.fixture()
def folder(tmp_path, clip):
    frames, gt = clip
    seq = tmp_path / "Seq"
    (seq / "img").mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(seq / "img" / f"{i + 1:04d}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (seq / "groundtruth_rect.txt").write_text("\r\n".join("\t".join(f"{v:.2f}" for v in b) for b in gt))
    return seq


def _decode(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def test_track_folder_with_box_writes_video_and_boxes(folder, clip, tmp_path, capsys):
    frames, gt = clip
    out, save = tmp_path / "out" / "a.mp4", tmp_path / "out" / "boxes.txt"
    box = ",".join(f"{v:.2f}" for v in gt[0])
    assert main(["track", str(folder / "img"), "--box", box, "--out", str(out), "--save", str(save),
                 "--no-progress"]) == 0
    boxes = read_boxes(save)
    assert boxes.shape == (len(frames), 4)
    assert np.abs(boxes[:, :2] - gt[:, :2]).max() < 5
    video = _decode(out)
    assert len(video) == len(frames) and video[0].shape == frames[0].shape
    assert "fps" in capsys.readouterr().out


def test_track_takes_the_box_from_groundtruth_and_scores_it(folder, capsys):
    assert main(["track", str(folder), "--no-progress", "--tracker", "dsst"]) == 0
    out = capsys.readouterr()
    assert "AUC" in out.out and "groundtruth_rect.txt" in out.err
    assert find_groundtruth(folder / "img") == folder / "groundtruth_rect.txt"


def test_track_a_video_file(tmp_path, clip):
    frames, gt = clip
    video = tmp_path / "clip.avi"
    size = (frames[0].shape[1], frames[0].shape[0])
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    save = tmp_path / "v.txt"
    assert main(["track", str(video), "--box", ",".join(map(str, gt[0])), "--save", str(save),
                 "--no-progress", "--max-frames", "5"]) == 0
    assert len(read_boxes(save)) == 5


@pytest.mark.parametrize("argv,match", [
    (["--box", "1,2,3"], "four numbers"),
    (["--box", "1,2,0,5"], "zero"),
    ([], "no --box"),
    (["--box", "10,10,20,20", "--tracker", "nope"], "unknown tracker"),
    (["--box", "10,10,20,20", "--param", "padding=x"], "padding"),
])
def test_track_errors_are_one_line(tmp_path, clip, capsys, argv, match):
    frames, _ = clip
    bare = tmp_path / "bare"
    bare.mkdir()
    for i, f in enumerate(frames[:3]):
        cv2.imwrite(str(bare / f"{i}.png"), f)
    assert main(["track", str(bare), "--no-progress", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_missing_source_and_helpers(tmp_path, capsys):
    assert main(["track", str(tmp_path / "nothing"), "--box", "1,1,5,5"]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(RegtrackError):
        parse_box("a,b,c,d")
    assert list(parse_box("1 2\t3,4")) == [1, 2, 3, 4]
    assert DEFAULT_TRACKER == "udtplus_hog"
