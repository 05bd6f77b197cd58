"""Issue 14: no traceback, no silent wrong answer, nothing lost.

Output paths are checked before any work (one ``check_output_path`` for every command); a run
that fails part-way keeps its boxes and never replaces an existing output; every tracker
parameter has a range; frames and ground truth must agree; resume guards the data; pathological
boxes and cut-off videos are said out loud; messages point the right way."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest

import regtrack.commands.track as track_command
import regtrack.trackers.base as tracker_base
from regtrack.cli import main
from regtrack.datasets.base import read_boxes
from regtrack.datasets.folders import load_dataset
from regtrack.demo import synthetic_sequence
from regtrack.errors import RegtrackError
from regtrack.evaluation.results import format_boxes
from regtrack.fileio import check_output_path, partial_path
from regtrack.trackers.base import Tracker, available_trackers, tracker_class


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    """An 8-frame 160 x 120 OTB-style folder: Seq/img/0001.jpg ... + groundtruth_rect.txt."""
    root = tmp_path_factory.mktemp("clip") / "Seq"
    centers = np.array([[70.0 + 2 * i, 60.0] for i in range(8)])
    frames, gt = synthetic_sequence(centers, np.tile([30.0, 24.0], (8, 1)), frame_size=(160, 120))
    (root / "img").mkdir(parents=True)
    for i, f in enumerate(frames, start=1):
        cv2.imwrite(str(root / "img" / f"{i:04d}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (root / "groundtruth_rect.txt").write_text(format_boxes(gt))
    return root


@pytest.fixture()
def seq(clip_dir, tmp_path):
    """A private copy of the clip, free to damage."""
    return shutil.copytree(clip_dir, tmp_path / "Seq")


def _one_error(capsys, match: str) -> str:
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("regtrack: error:")]
    assert len(errors) == 1 and match in errors[0], err
    assert "Traceback" not in err
    return errors[0]


# ------------------------------------------------------------------------------ output paths
def _bad_outputs(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    return {"folder": (tmp_path, "names a folder"), "parent_is_file": (blocker / "sub" / "out.txt", "a file"),
            "unwritable": (os.path.join("/proc", "regtrack-no", "out.txt"), "cannot write")}


@pytest.mark.parametrize("kind", ["folder", "parent_is_file", "unwritable"])
def test_track_checks_its_outputs_before_reading_a_frame(seq, tmp_path, capsys, monkeypatch, kind):
    import regtrack.datasets.sources as sources

    def no_frames(*args, **kwargs):  # tracking (or even opening the source) must not start
        raise AssertionError("the source was opened before the outputs were checked")

    monkeypatch.setattr(sources, "open_source", no_frames)
    path, match = _bad_outputs(tmp_path)[kind]
    for option in ("--save", "--out"):
        target = str(path) if option == "--save" or kind != "folder" else str(tmp_path)
        if option == "--out" and kind != "folder":
            target = str(path).replace(".txt", ".mp4")
        assert main(["track", str(seq), "--tracker", "static", option, target, "--no-progress"]) == 2
        _one_error(capsys, match)


def test_check_output_path_rules(tmp_path):
    assert check_output_path(tmp_path / "new" / "deeper" / "b.txt") == tmp_path / "new" / "deeper" / "b.txt"
    assert (tmp_path / "new" / "deeper").is_dir() and not list((tmp_path / "new" / "deeper").iterdir())
    (tmp_path / "f").write_text("")
    with pytest.raises(RegtrackError, match="must be a folder"):
        check_output_path(tmp_path / "f", folder=True)
    with pytest.raises(RegtrackError, match="names a folder"):
        check_output_path(tmp_path)
    if os.geteuid() != 0:  # root writes anywhere: only an ordinary user can test permissions
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(RegtrackError, match="permission denied"):
            check_output_path(ro / "x.txt")
    assert partial_path("a/boxes.txt").as_posix() == "a/boxes.partial.txt"
    assert partial_path("v.mp4").name == "v.partial.mp4"


@pytest.mark.parametrize("argv", [
    ["eval", "--tracker", "static", "--root", "{seq}", "--out", "{bad}"],
    ["report", "{results}", "--root", "{seq}", "--json", "{bad}/s.json"],
    ["report", "{results}", "--root", "{seq}", "--tables", "{bad}"],
    ["report", "{results}", "--root", "{seq}", "--plots", "{bad}"],
    ["demo", "--tracker", "static", "--out", "{bad}"],
])
def test_eval_report_demo_check_their_outputs_first(seq, tmp_path, capsys, argv):
    results = tmp_path / "results"
    assert main(["eval", "--tracker", "static", "--root", str(seq), "--out", str(results),
                 "--no-progress"]) == 0
    capsys.readouterr()
    bad = tmp_path / "a_file"
    bad.write_text("in the way")
    args = [a.format(seq=seq, bad=bad, results=results) for a in argv]
    assert main(args) == 2
    _one_error(capsys, "a_file")


def test_eval_results_folder_and_files_in_the_way_are_one_line(seq, tmp_path, capsys):
    out = tmp_path / "res"
    out.mkdir()
    (out / "static").write_text("a file where the tracker's folder goes")
    argv = ["eval", "--tracker", "static", "--root", str(seq), "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    _one_error(capsys, "must be a folder")
    (out / "static").unlink()
    (out / "static" / "params.json").mkdir(parents=True)
    assert main(argv) == 2
    _one_error(capsys, "params.json: cannot write this file (a folder of that name is in the way)")


class _FailsLater(Tracker):
    """A tracker that breaks on frame 5 (returns NaN): the run must keep frames 1-4."""

    name = "_fails_on_frame_5"

    def init(self, image, box):
        self.box, self.n = np.asarray(box, float), 1

    def update(self, image):
        self.n += 1
        return self.box + (np.nan if self.n == 5 else 0.0)


def test_a_failing_run_keeps_its_boxes_and_never_replaces_outputs(seq, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(tracker_base._REGISTRY, _FailsLater.name, _FailsLater)  # for this test only
    save, video = tmp_path / "boxes.txt", tmp_path / "video.mp4"
    save.write_text("the old boxes\n")
    video.write_bytes(b"the old video")
    assert main(["track", str(seq), "--tracker", "_fails_on_frame_5", "--save", str(save),
                 "--out", str(video), "--no-progress"]) == 2
    line = _one_error(capsys, "frame 5")
    assert "nan" in line
    assert save.read_text() == "the old boxes\n" and video.read_bytes() == b"the old video"
    kept = read_boxes(tmp_path / "boxes.partial.txt")
    assert kept.shape == (4, 4) and np.all(np.isfinite(kept))  # frames 1-4, never the NaN
    cap = cv2.VideoCapture(str(tmp_path / "video.partial.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    cap.release()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_corrupt_middle_frame_keeps_the_boxes_before_it(seq, tmp_path, capsys):
    (seq / "img" / "0006.jpg").write_bytes(b"not a jpeg")
    save = tmp_path / "b.txt"
    assert main(["track", str(seq), "--tracker", "kcf", "--save", str(save), "--no-progress"]) == 2
    _one_error(capsys, "0006.jpg: cannot decode")
    assert read_boxes(tmp_path / "b.partial.txt").shape == (5, 4) and not save.exists()


# --------------------------------------------------------------------------- parameter ranges
def test_every_numeric_parameter_of_every_tracker_has_a_range_and_a_meaning():
    import dataclasses
    import typing

    for name in available_trackers():
        params = tracker_class(name).Params
        hints = typing.get_type_hints(params)
        for f in dataclasses.fields(params):
            args = [a for a in typing.get_args(hints[f.name]) if a is not type(None)] or [hints[f.name]]
            assert f.metadata.get("doc"), f"{name}.{f.name} has no doc"
            if args[0] in (int, float):
                has_range = any(f.metadata.get(k) is not None for k in ("ge", "gt", "le", "lt"))
                assert has_range, f"{name}.{f.name} has no range"


@pytest.mark.parametrize("tracker,param,match", [
    ("kcf", "padding=-1", "padding=-1.0 must be >= 0"), ("kcf", "cell_size=0", "cell_size=0 must be >= 1"),
    ("kcf", "padding=1e6", "must be <= 20"), ("udt", "num_scales=0", "num_scales=0 must be >= 1"),
    ("udt", "padding=-1", "must be >= 0"), ("udt", "scale_step=0", "scale_step=0.0 must be > 1"),
    ("dsst", "lam=inf", "must be finite"), ("kcf", "kernel=cubic", "not valid"),
])
def test_out_of_range_parameters_are_refused_before_any_work(seq, capsys, tracker, param, match):
    assert main(["track", str(seq), "--tracker", tracker, "--param", param, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert match in err and "initial box" not in err  # refused before the data was even read


def test_param_type_errors_and_list(capsys):
    assert main(["track", "x", "--tracker", "kcf", "--param", "padding=wide"]) == 2
    line = _one_error(capsys, "padding=wide")
    assert "<class" not in line and "expected number" in line
    assert main(["track", "--list"]) == 0
    out = capsys.readouterr().out
    assert "kcf: Kernelized Correlation Filter" in out
    assert "  padding=1.5  [>= 0, <= 20]  window = target x (1 + padding)" in out
    assert "static:" in out and "(no parameters)" in out


def test_a_huge_box_and_a_huge_window_are_one_line_errors(seq, capsys):
    assert main(["track", str(seq), "--tracker", "kcf", "--box", "1,1,5000,5000", "--no-progress"]) == 2
    _one_error(capsys, "more than 2 times the 160x120 image")
    from regtrack.core.sampling import sample_patch

    with pytest.raises(RegtrackError, match="megapixels"):
        sample_patch(np.zeros((10, 10, 3), np.uint8), (5, 5), (40000, 40000))
    with pytest.raises(RegtrackError, match="no longer finite"):
        sample_patch(np.zeros((10, 10, 3), np.uint8), (np.nan, 5), (4, 4))


def test_a_video_cut_off_mid_stream_is_said(tmp_path, capsys):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    frames, _ = synthetic_sequence(np.tile([32.0, 24.0], (30, 1)), np.tile([16.0, 12.0], (30, 1)),
                                   frame_size=(64, 48))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    save = tmp_path / "b.txt"
    assert main(["track", str(path), "--box", "25,19,16,12", "--tracker", "static", "--save", str(save),
                 "--no-progress"]) == 2
    _one_error(capsys, "of its 30 frames (cut off or corrupt)")
    assert 5 < len(read_boxes(tmp_path / "b.partial.txt")) < 30


# ------------------------------------------------------------------ frames and ground truth
def test_frames_and_ground_truth_must_agree(seq, capsys):
    gt = (seq / "groundtruth_rect.txt").read_text().splitlines()
    (seq / "img" / "0004.jpg").rename(seq / "0004.jpg.bak")
    assert main(["track", str(seq), "--tracker", "static", "--no-progress"]) == 2
    _one_error(capsys, "frame 4 is missing between 0003.jpg and 0005.jpg")
    (seq / "0004.jpg.bak").rename(seq / "img" / "0004.jpg")

    shutil.copy(seq / "img" / "0004.jpg", seq / "img" / "0004.png")
    assert main(["track", str(seq), "--tracker", "static", "--no-progress"]) == 2
    _one_error(capsys, "frame 4 is there twice (0004.jpg and 0004.png)")
    (seq / "img" / "0004.png").unlink()

    (seq / "groundtruth_rect.txt").write_text("\n".join(gt + gt[:2]) + "\n")  # longer than the frames
    assert main(["track", str(seq), "--tracker", "static", "--no-progress"]) == 2
    _one_error(capsys, "10 boxes but only 8 frames")

    (seq / "groundtruth_rect.txt").write_text("\n".join(gt[:5]) + "\n")  # shorter: said, scored on those
    assert main(["track", str(seq), "--tracker", "static", "--no-progress"]) == 0
    out = capsys.readouterr()
    from regtrack.evaluation.metrics import evaluate_sequence

    first5 = read_boxes(seq / "groundtruth_rect.txt")
    expected = evaluate_sequence(np.repeat(first5[:1], 5, axis=0), first5).auc  # static, 5 frames
    assert "5 boxes for 8 frames" in out.err and f"AUC {expected:.3f}" in out.out

    (seq / "groundtruth_rect.txt").write_text("\n".join(gt[:3] + [""] + gt[3:]) + "\n\n")
    assert main(["track", str(seq), "--tracker", "static", "--no-progress"]) == 2
    _one_error(capsys, "groundtruth_rect.txt:4: blank line inside the ground-truth file")
    with pytest.raises(RegtrackError, match=":4: blank line"):
        load_dataset(seq.parent)


def test_blank_lines_at_the_end_are_fine_and_empty_ground_truth_says_restore(seq):
    gt = (seq / "groundtruth_rect.txt").read_text()
    (seq / "groundtruth_rect.txt").write_text(gt + "\n\n  \n")
    assert read_boxes(seq / "groundtruth_rect.txt").shape == (8, 4)
    (seq / "groundtruth_rect.txt").write_text("")
    with pytest.raises(RegtrackError, match="ground-truth file is empty") as err:
        read_boxes(seq / "groundtruth_rect.txt", what="ground-truth file")
    assert "delete" not in str(err.value) and "restore" in str(err.value)


def test_folder_scan_eval_goes_past_a_broken_folder_and_says_what_it_left_out(clip_dir, tmp_path, capsys):
    root = tmp_path / "data"
    for name in ("Good", "Broken", "NoTruth"):
        shutil.copytree(clip_dir, root / name)
    (root / "Broken" / "groundtruth_rect.txt").write_text("1,2,3\n")
    (root / "NoTruth" / "groundtruth_rect.txt").unlink()
    out = tmp_path / "res"
    assert main(["eval", "--tracker", "static", "--root", str(root), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "Broken left out:" in err and "has 3 numbers" in err
    assert "NoTruth: frames but no ground truth" in err
    assert (out / "static" / "Good.txt").is_file()
    assert main(["eval", "--tracker", "static", "--root", str(root), "--out", str(out), "--no-progress",
                 "--sequences", "Good"]) == 0
    capsys.readouterr()
    assert main(["eval", "--tracker", "static", "--root", str(root), "--out", str(out), "--no-progress",
                 "--sequences", "Broken"]) == 2
    _one_error(capsys, "has 3 numbers")


# ------------------------------------------------------------------------------------ resume
def test_resume_refuses_results_made_for_another_initial_box(seq, tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["eval", "--tracker", "static", "--root", str(seq), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0 and "1 already done" in capsys.readouterr().out
    gt = (seq / "groundtruth_rect.txt").read_text().splitlines()
    x, y, w, h = gt[0].split(",")
    (seq / "groundtruth_rect.txt").write_text("\n".join([f"{float(x) + 5},{y},{w},{h}"] + gt[1:]) + "\n")
    assert main(argv) == 2
    _one_error(capsys, "made for other data (init_box")
    (out / "static" / "Seq.txt").unlink()  # as the message says: delete it to run it again
    assert main(argv) == 0
    assert read_boxes(out / "static" / "Seq.txt")[0, 0] == pytest.approx(float(x) + 5)


# ---------------------------------------------------------------------------------- messages
def test_messages_point_the_right_way(seq, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["eval", "--tracker", "static", "--root", str(seq), "--out", str(results),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["report", str(results), "--root", str(seq), "--eval-type", "tre"]) == 2
    line = _one_error(capsys, "one-run (OPE) result")
    assert ".mat file" not in line.split("(")[0]
    assert main(["show", "features", str(tmp_path / "no_such_folder")]) == 2
    line = _one_error(capsys, "no such file or folder")
    assert "box" not in line.split("(")[0]


def test_options_that_would_be_ignored_are_refused(seq, tmp_path, capsys):
    for extra in (["--subset", "OTB2013"], ["--anno-dir", str(tmp_path)]):
        assert main(["eval", "--tracker", "static", "--root", str(seq), "--out", str(tmp_path / "o"),
                     "--no-progress", *extra]) == 2
        _one_error(capsys, "need the dataset's description (--annotations)")


def test_training_and_demo_numbers_have_ranges_too(seq, tmp_path, capsys):
    cases = ((["--epochs", "0"], "epochs=0 must be >= 1"), (["--batch-size", "0"], "batch_size=0"),
             (["--lr", "-1", "1e-5"], "lr_start=-1.0 must be > 0"))
    for extra, match in cases:
        assert main(["train", "udt", "--videos", str(seq.parent), "--out", str(tmp_path / "w.pth"),
                     *extra]) == 2
        _one_error(capsys, match)
    assert main(["demo", "--seed", "-1", "--out", str(tmp_path / "d")]) == 2
    _one_error(capsys, "negative")


def test_train_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "``" not in capsys.readouterr().out


def test_track_frames_never_returns_a_non_finite_box():
    frames, gt = synthetic_sequence(np.tile([80.0, 60.0], (6, 1)), np.tile([30.0, 24.0], (6, 1)),
                                    frame_size=(160, 120))
    with pytest.raises(RegtrackError, match="frame 5"):
        track_command.track_frames(_FailsLater(), frames, gt[0])
