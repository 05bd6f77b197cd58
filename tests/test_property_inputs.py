"""Property-style tests: ``track``, ``eval`` and ``report`` driven with generated inputs -- random
values (in and out of range) for every numeric parameter of every tracker, random corruptions
of ground-truth files, frame folders and result files. Every run must end in exit 0 with finite
boxes, or exit 2 with one ``regtrack: error`` line: never a traceback (an uncaught exception
fails the test), never a hang (each case has a time limit). A fixed seed keeps it reproducible;
tiny synthetic clips keep it to seconds."""

from __future__ import annotations

import dataclasses
import math
import random
import shutil
import time
import typing

import cv2
import numpy as np
import pytest

from regtrack.cli import main
from regtrack.datasets.base import read_boxes
from regtrack.demo import synthetic_sequence
from regtrack.errors import RegtrackError
from regtrack.evaluation.results import format_boxes
from regtrack.trackers.base import available_trackers, tracker_class

CASE_SECONDS = 120  # a tiny run takes about a second (the first loads a network); this is a hang
FIXED = {"hcf": {"backbone": "efficientnet_lite0"}}  # the backbone whose weights ship offline


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    """A 5-frame 160 x 120 clip: img/0001.jpg ... + groundtruth_rect.txt."""
    root = tmp_path_factory.mktemp("clip")
    centers = np.array([[70.0 + 2 * i, 60.0] for i in range(5)])
    frames, gt = synthetic_sequence(centers, np.tile([30.0, 24.0], (5, 1)), frame_size=(160, 120))
    (root / "img").mkdir()
    for i, f in enumerate(frames, start=1):
        cv2.imwrite(str(root / "img" / f"{i:04d}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (root / "groundtruth_rect.txt").write_text(format_boxes(gt))
    return root


def _numeric_fields(name: str) -> list[dataclasses.Field]:
    hints = typing.get_type_hints(tracker_class(name).Params)
    out = []
    for f in dataclasses.fields(tracker_class(name).Params):
        base = [a for a in typing.get_args(hints[f.name]) if a is not type(None)] or [hints[f.name]]
        if f.name in FIXED.get(name, {}) or f.name in ("threads", "fft_workers"):
            continue  # thread counts change the speed, not the boxes; 256 threads would only be slow
        numbers = typing.get_origin(base[0]) is tuple and typing.get_args(base[0])[0] is float
        if base[0] in (int, float) or numbers:
            out.append(f)
    return out


def _random_value(rng: random.Random, field: dataclasses.Field, is_int: bool) -> str:
    """A value inside the field's range most of the time, else just outside it or non-finite."""
    m = field.metadata
    lo = m.get("ge") if m.get("ge") is not None else m.get("gt")
    hi = m.get("le") if m.get("le") is not None else m.get("lt")
    lo = -1e3 if lo is None else lo
    hi = 1e3 if hi is None else hi
    roll = rng.random()
    if roll < 0.08:
        v = lo - rng.choice([1e-3, 1, 1e6])
    elif roll < 0.16:
        v = hi + rng.choice([1e-3, 1, 1e6])
    elif roll < 0.2:
        return rng.choice(["inf", "-inf", "1e400"])
    elif hi - lo > 100 and lo >= 0:  # wide ranges: log-uniform, so small values come up too
        v = math.exp(rng.uniform(math.log(max(lo, 1e-3)), math.log(hi)))
    else:
        v = rng.uniform(lo, hi)
    if is_int:
        v = int(round(v)) if math.isfinite(v) else v
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    if isinstance(default, tuple):
        return ",".join(str(v if i == 0 else rng.uniform(lo, min(hi, 10))) for i in range(len(default)))
    return str(v)


def _params(rng: random.Random, name: str, fields: list[dataclasses.Field]) -> list[str]:
    hints = typing.get_type_hints(tracker_class(name).Params)
    out = [f"{k}={v}" for k, v in FIXED.get(name, {}).items()]
    for f in fields:
        out.append(f"{f.name}={_random_value(rng, f, hints[f.name] is int)}")
    return out


def _assert_outcome(code: int, err: str, boxes_file, n_frames: int | None = None) -> None:
    if code == 0:
        boxes = read_boxes(boxes_file)
        assert np.all(np.isfinite(boxes)) and np.all(boxes[:, 2:] > 0), boxes
        if n_frames is not None:
            assert len(boxes) == n_frames
    else:
        assert code == 2, (code, err)
        errors = [ln for ln in err.splitlines() if ln.startswith("regtrack: error:")]
        assert len(errors) == 1, err
        assert "Traceback" not in err


def _cases(seed: int, extra: dict[str, int]) -> list[tuple[str, list[str]]]:
    """Every numeric parameter of every tracker in some case (shuffled, two or three at a time),
    plus ``extra[name]`` cases of one to three parameters drawn at random."""
    rng = random.Random(seed)
    cases = []
    for name in sorted(extra):
        fields = _numeric_fields(name)
        rng.shuffle(fields)
        groups = [fields[i:i + 3] for i in range(0, len(fields), 3)] or [[]]
        groups += [rng.sample(fields, k=min(len(fields), rng.randint(1, 3))) for _ in range(extra[name])]
        cases += [(name, _params(rng, name, g)) for g in groups]
    return cases


# extra cases beyond those covering every parameter
TRACKER_CASES = {"kcf": 6, "dsst": 6, "udt": 3, "dcfnet": 0, "hcf": 1, "static": 0, "opencv_kcf": 0,
                 "opencv_csrt": 0, "crest": 2, "dslt": 2, "eco_hc": 2, "udtplus": 1,
                 "tadt": 1, "udtplus_hog": 1}
# Trained on the first frame with VGG-16 (seconds to minutes a clip on a CPU): their random values are
# checked as `--param` is (refused in one line, or accepted), without tracking.
VALIDATED_ONLY = {"crest", "dslt", "tadt"}


def test_every_numeric_parameter_of_every_tracker_is_drawn():
    assert set(TRACKER_CASES) == set(available_trackers())  # a new tracker joins the list
    drawn = {(name, p.split("=")[0]) for name, params in _cases(14, TRACKER_CASES) for p in params}
    for name in TRACKER_CASES:
        for f in _numeric_fields(name):
            assert (name, f.name) in drawn


@pytest.mark.timeout(2 * CASE_SECONDS)
@pytest.mark.parametrize("name,params", [c for c in _cases(14, TRACKER_CASES) if c[0] not in VALIDATED_ONLY],
                         ids=lambda v: v if isinstance(v, str) else ";".join(v))
def test_track_with_random_parameters(clip_dir, tmp_path, capsys, name, params):
    save = tmp_path / "boxes.txt"
    start = time.monotonic()
    code = main(["track", str(clip_dir), "--tracker", name, "--save", str(save), "--no-progress",
                 *[a for p in params for a in ("--param", p)]])
    assert time.monotonic() - start < CASE_SECONDS
    _assert_outcome(code, capsys.readouterr().err, save, n_frames=5)


@pytest.mark.parametrize("name,params", [c for c in _cases(14, TRACKER_CASES) if c[0] in VALIDATED_ONLY],
                         ids=lambda v: v if isinstance(v, str) else ";".join(v))
def test_random_parameters_of_the_trained_trackers_are_accepted_or_refused_in_one_line(name, params):
    import regtrack.trackers.base as base

    try:
        typed = base.parse_overrides(name, params)
    except RegtrackError as err:
        assert "\n" not in str(err) and ("must be" in str(err) or "--param" in str(err)), err
        return
    used = dataclasses.replace(base.tracker_class(name).Params(), **typed)
    base.check_params(used, name)  # accepted: every value is in its stated range
    for key, value in typed.items():
        values = value if isinstance(value, tuple) else (value,)
        assert all(v is None or math.isfinite(v) for v in values), (key, value)


def _corrupt(rng: random.Random, seq) -> str:
    """Damage a copy of the clip in one of the ways users' data is damaged; returns the kind."""
    gt_file, img = seq / "groundtruth_rect.txt", seq / "img"
    lines = gt_file.read_text().splitlines()
    kind = rng.choice(["missing_middle_frame", "duplicate_png", "gt_shorter", "gt_longer", "blank_line",
                       "garbage_line", "three_numbers", "empty_gt", "corrupt_frame", "empty_frame",
                       "zero_size_first_box", "nan_row", "huge_first_box", "gt_is_a_folder", "no_frames"])
    if kind == "missing_middle_frame":
        (img / "0003.jpg").unlink()
    elif kind == "duplicate_png":
        shutil.copy(img / "0002.jpg", img / "0002.png")
    elif kind == "gt_shorter":
        gt_file.write_text("\n".join(lines[:3]) + "\n")
    elif kind == "gt_longer":
        gt_file.write_text("\n".join(lines + lines[-2:]) + "\n")
    elif kind == "blank_line":
        gt_file.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n")
    elif kind == "garbage_line":
        gt_file.write_text("\n".join(lines[:2] + ["x,y,w,h"] + lines[3:]) + "\n")
    elif kind == "three_numbers":
        gt_file.write_text("\n".join(lines[:1] + ["1,2,3"] + lines[2:]) + "\n")
    elif kind == "empty_gt":
        gt_file.write_text("")
    elif kind == "corrupt_frame":
        (img / "0004.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    elif kind == "empty_frame":
        (img / "0002.jpg").write_bytes(b"")
    elif kind == "zero_size_first_box":
        gt_file.write_text("\n".join(["10,10,0,20"] + lines[1:]) + "\n")
    elif kind == "nan_row":
        gt_file.write_text("\n".join(lines[:3] + ["NaN,NaN,NaN,NaN"] + lines[4:]) + "\n")
    elif kind == "huge_first_box":
        gt_file.write_text("\n".join(["1,1,9000,9000"] + lines[1:]) + "\n")
    elif kind == "gt_is_a_folder":
        gt_file.unlink()
        gt_file.mkdir()
    elif kind == "no_frames":
        shutil.rmtree(img)
        img.mkdir()
    return kind


@pytest.mark.timeout(4 * CASE_SECONDS)
@pytest.mark.parametrize("case", range(16))
def test_track_eval_and_report_on_corrupted_data(clip_dir, tmp_path, capsys, case):
    rng = random.Random(1400 + case)
    root = tmp_path / "data"
    shutil.copytree(clip_dir, root / "Good")
    shutil.copytree(clip_dir, root / "Bad")
    kind = _corrupt(rng, root / "Bad")
    name = rng.choice(["kcf", "static", "dsst"])

    save = tmp_path / "boxes.txt"
    start = time.monotonic()
    code = main(["track", str(root / "Bad"), "--tracker", name, "--save", str(save), "--no-progress"])
    assert time.monotonic() - start < CASE_SECONDS, kind
    _assert_outcome(code, capsys.readouterr().err, save)

    # eval over the folder: the broken sibling never stops the good sequence, asked for by name
    out = tmp_path / "results"
    code = main(["eval", "--tracker", name, "--root", str(root), "--out", str(out), "--no-progress",
                 "--sequences", "Good"])
    assert code == 0, (kind, capsys.readouterr().err)
    capsys.readouterr()
    code = main(["eval", "--tracker", name, "--root", str(root), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    _assert_outcome(code, err, out / name / "Good.txt")
    assert (out / name / "Good.txt").is_file(), (kind, err)

    # report on the results, with one result file damaged the same random way
    result = out / name / "Good.txt"
    lines = result.read_text().splitlines()
    damage = rng.choice(["blank", "short", "nan", "empty", "words", "none"])
    if damage == "blank":
        result.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n")
    elif damage == "short":
        result.write_text("\n".join(lines[:2]) + "\n")
    elif damage == "nan":
        result.write_text("\n".join(lines[:2] + ["nan,nan,nan,nan"] + lines[3:]) + "\n")
    elif damage == "empty":
        result.write_text("")
    elif damage == "words":
        result.write_text("hello world\n")
    code = main(["report", str(out), "--root", str(root), "--sequences", "Good",
                 "--eval-type", rng.choice(["ope", "tre"]), "--json", str(tmp_path / "r" / "s.json"),
                 "--no-plots"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert len([ln for ln in err.splitlines() if ln.startswith("regtrack: error:")]) == 1, err
