"""Reading other people's results (.mat v5 / v7.3, comma / tab / space txt, name variants, length
quirks) and writing ours atomically; bad result files give one-line errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io

from regtrack.datasets.otb import load_otb
from regtrack.errors import RegtrackError
from regtrack.evaluation.results import (
    align_result,
    find_result_files,
    read_mat_results,
    read_result,
    read_times,
    write_result,
)

R = "data/results/OTB100"


@pytest.fixture(scope="module")
def otb(shared):
    return load_otb(shared / "data/annotations/OTB100.json")


def test_mat_v5_integer_boxes_are_float(shared):
    b = read_result(shared / R / "DSST/David_DSST.mat")  # stored as uint8
    assert b.dtype == np.float64 and b.shape == (471, 4) and b[0].tolist() == [129, 80, 64, 78]
    runs = read_mat_results(shared / R / "HCF/Basketball_CF2.mat")
    assert len(runs) == 1 and runs[0].type == "rect" and runs[0].boxes.shape == (725, 4)


def _write_v73(path, runs):
    """An OTB ``results`` cell array as MATLAB -v7.3 stores it: HDF5 references to structs whose
    arrays are transposed (column-major) and whose strings are uint16 codes."""
    with h5py.File(path, "w") as f:
        refs = []
        for i, res in enumerate(runs):
            g = f.create_group(f"#refs#/r{i}")
            g["res"] = np.asarray(res, dtype=np.float64).T
            g["type"] = np.array([[ord(c)] for c in "rect"], dtype=np.uint16)
            g["startFrame"] = np.array([[1.0]])
            refs.append(g.ref)
        f.create_dataset("results", data=np.array(refs, dtype=h5py.ref_dtype).reshape(-1, 1))
    return path


def test_mat_v73(tmp_path):
    boxes = np.arange(20, dtype=float).reshape(5, 4) + 1
    p = _write_v73(tmp_path / "Seq_T.mat", [boxes, boxes + 1])
    assert np.array_equal(read_result(p), boxes)
    assert len(read_mat_results(p)) == 2


def test_text_delimiters(tmp_path):
    for i, text in enumerate(["1,2,3,4\n5,6,7,8", "1\t2\t3\t4\r\n5\t6\t7\t8\r\n", "1 2 3 4\n5 6 7 8\n"]):
        p = tmp_path / f"s{i}.txt"
        p.write_text(text)
        assert read_result(p).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_name_variants(shared, otb):
    names = otb.names()
    for tracker, expect in {
        "UDT": {"Jogging-1": "Jogging.txt", "Jogging-2": "Jogging(2).txt", "Skating2-2": "Skating2(2).txt",
                "Human4-2": "Human4.txt"},
        "SiamFC": {"Jogging-1": "jogging_1.txt", "Human4-2": "human4-2.txt", "Skating2-1": "skating2_1.txt"},
        "HCF": {"Basketball": "Basketball_CF2.mat", "Human4-2": "Human4-2_CF2.mat"},
        "TADT": {"Basketball": "basketball_TADT.mat", "FaceOcc1": "faceOcc1_TADT.mat",
                 "Human4-2": "Human4_TADT.mat"},
    }.items():
        found, missing = find_result_files(shared / R / tracker, names)
        assert not missing, (tracker, missing)
        for seq, fname in expect.items():
            assert found[seq].name == fname


def test_tracker_names_with_underscores(tmp_path):
    for f in ("Jogging_1_My_Tracker.mat", "Jogging_2_My_Tracker.mat", "Human4_My_Tracker.mat", "Car4.txt",
              "Car4_time.txt"):
        (tmp_path / f).write_text("")
    found, missing = find_result_files(tmp_path, ["Jogging-1", "Jogging-2", "Human4-2", "Car4", "Car24"])
    assert {k: v.name for k, v in found.items()} == {
        "Jogging-1": "Jogging_1_My_Tracker.mat", "Jogging-2": "Jogging_2_My_Tracker.mat",
        "Human4-2": "Human4_My_Tracker.mat", "Car4": "Car4.txt"}
    assert missing == ["Car24"]


def test_length_quirks(shared, otb):
    tiger = read_result(shared / R / "UDT/Tiger1.txt")
    assert len(tiger) == 354  # from image 1; the protocol's frames are 6-354
    aligned = align_result(tiger, otb["Tiger1"])
    assert np.array_equal(aligned, tiger[5:])
    board = read_result(shared / R / "CREST/Board_CREST.mat")
    assert len(board) == 697  # the last frame (all-zero ground truth) is missing
    padded = align_result(board, otb["Board"])
    assert len(padded) == 698 and np.isnan(padded[-1]).all()
    assert len(align_result(np.ones((231, 4)), otb["Diving"])) == 215  # extra rows at the end


def test_empty_and_short_results(tmp_path, otb):
    p = tmp_path / "Basketball.txt"
    p.write_text("")
    with pytest.raises(RegtrackError, match="Basketball.txt: empty result file"):
        read_result(p)
    p.write_text("1,2,3,4\n" * 10)
    with pytest.raises(RegtrackError, match=r"Basketball.txt: short result file: 10 rows for the 725 frames"):
        align_result(read_result(p), otb["Basketball"], p)
    p.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(RegtrackError, match=r"Basketball.txt:2: has 3 numbers"):
        read_result(p)
    scipy.io.savemat(tmp_path / "x.mat", {"something": np.zeros(3)})
    with pytest.raises(RegtrackError, match="x.mat: no 'results' variable"):
        read_result(tmp_path / "x.mat")
    (tmp_path / "y.mat").write_bytes(b"garbage")
    with pytest.raises(RegtrackError, match="y.mat: cannot read"):
        read_result(tmp_path / "y.mat")


def test_write_is_atomic_and_round_trips(tmp_path):
    boxes = np.array([[1.5, 2, 3.25, 4], [5, 6, 7, 8.123456]])
    p = write_result(tmp_path / "out", "Seq", boxes, times=[0.01, 0.02])
    assert p.read_text() == "1.5,2,3.25,4\n5,6,7,8.1235\n"
    assert np.allclose(read_result(p), boxes, atol=1e-4)
    assert read_times(tmp_path / "out", "Seq").tolist() == [0.01, 0.02]
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == ["Seq.txt", "Seq_time.txt"]  # no temp left


def test_atomic_write_gives_an_ordinary_file_and_leaves_no_temporary(tmp_path):
    import os
    import stat

    from regtrack.fileio import atomic_path, atomic_write

    target = tmp_path / "boxes.txt"
    atomic_write(target, "1,2,3,4\n")
    assert target.read_text() == "1,2,3,4\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "1,2,3,4\n"  # the interrupted write left the old file whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boxes.txt"]
