"""Datasets described by data: OTB (JSON + official files, every quirk of reference.md §2.3), plain
folders of OTB-layout sequences (file quirks), VOT, UAV123, DTB70, GOT-10k, LaSOT; bad inputs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from regtrack.datasets.base import read_boxes
from regtrack.datasets.folders import load_dataset, load_folder_dataset
from regtrack.datasets.otb import load_otb
from regtrack.errors import RegtrackError


@pytest.fixture(scope="module")
def otb(shared):
    a = shared / "data/annotations"
    return load_otb(a / "OTB100.json", shared / "data/otb", official_anno=a / "tb100_anno")


def test_otb_quirks(otb):
    assert len(otb) == 100
    david = otb["David"]
    assert len(david) == 471 and david.frames[0].name == "0300.jpg" and david.frames[-1].name == "0770.jpg"
    tiger = otb["Tiger1"]
    assert len(tiger) == 349 and tiger.frames[0].name == "0006.jpg"
    assert len(otb["Diving"]) == 215 and len(otb["Football1"]) == 74
    assert otb["BlurCar1"].frames[0].name == "0247.jpg" and len(otb["BlurCar1"]) == 742
    assert otb["BlurCar3"].frames[0].name == "0003.jpg" and otb["BlurCar4"].frames[0].name == "0018.jpg"
    assert otb["Board"].frames[0].name == "00001.jpg"
    assert not np.all(otb["Board"].gt[-1] > 0)  # frame 698 all zeros: an invalid frame
    j1, j2 = otb["Jogging-1"], otb["Jogging-2"]
    assert j1.frames[0] == j2.frames[0] and not np.array_equal(j1.gt, j2.gt)
    assert otb["Human4-2"].frames[0].parent.parent.name == "Human4"
    assert otb["jogging_1"] is j1 and otb["Skating2.2"].name == "Skating2-2"
    assert otb["human4"].name == "Human4-2"


def test_otb_attributes_and_subsets(shared, otb):
    counts = otb.attribute_counts()
    assert list(counts) == ["IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR"]
    assert counts == {"IV": 38, "SV": 64, "OCC": 49, "DEF": 44, "MB": 29, "FM": 39, "IPR": 51, "OPR": 63,
                      "OV": 14, "BC": 31, "LR": 9}  # as the official anno/att files have them
    from_json = load_otb(shared / "data/annotations/OTB100.json")
    assert from_json.attribute_counts() == counts
    ann = shared / "data/annotations/OTB100.json"
    assert len(load_otb(ann, subset="OTB2013")) == 51
    assert len(load_otb(ann, subset="cvpr13")) == 51
    assert len(load_otb(ann, subset="TB50")) == 50
    assert len(load_otb(ann, subset="OTB2015")) == 100
    with pytest.raises(RegtrackError, match="unknown OTB subset"):
        load_otb(ann, subset="OTB77")
    assert otb["Tiger1"].init_omit[:2] == [(1, 5), (9, 15)]


def test_dcfnet_json_format(shared):
    ds = load_otb(shared / "data/annotations/OTB2015.json", shared / "data/otb")
    assert len(ds) == 100 and ds["Jogging-2"].frames[0].parent.parent.name == "Jogging"
    assert ds["Tiger1"].frames[0].name == "0006.jpg"


def test_present_sequences(otb):
    present, absent = otb.present()
    assert len(present) == 23 and len(absent) == 77
    assert {"Jogging-1", "Jogging-2", "David", "Diving"} <= set(present.names())


def test_plain_folder_matches_json_with_file_quirks(shared, otb):
    ds = load_folder_dataset(shared / "data/otb")  # comma/tab, CRLF, no final newline
    assert len(ds) == 23
    for seq in ds:
        ref = otb[seq.name]
        assert len(seq) == len(ref), seq.name
        assert np.array_equal(seq.gt, ref.gt), seq.name
        assert seq.frames[0].name == ref.frames[0].name
    assert any("Diving" in n for n in ds.notes)  # more images than boxes: the first 215 are used


def test_grey_frames_are_rgb(otb):
    img = otb["Toy"].image(0)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


def test_other_layouts(shared):
    ds = load_dataset(shared / "data/other")
    assert sorted(ds.names()) == ["Surfing06", "bag", "wakeboard7"]
    bag = ds["bag"]  # VOT polygon -> axis-aligned box
    assert len(bag) == len(bag.frames) and bag.gt.shape[1] == 4
    # first polygon: 334.02,128.36, 438.19,188.78, 396.39,260.83, 292.23,200.41
    assert bag.gt[0] == pytest.approx([292.23, 128.36, 438.19 - 292.23, 260.83 - 128.36])
    assert ds["wakeboard7"].gt[0].tolist() == [623, 299, 11, 38]  # UAV123: NAME/ + NAME.txt
    assert ds["Surfing06"].frames[0].name == "00001.jpg"  # DTB70: 5-digit names


def _img(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((20, 30, 3), np.uint8))


def test_got10k_and_lasot_and_uav_nan(tmp_path):
    got = tmp_path / "got/val/GOT-10k_Val_000001"
    for i in range(1, 4):
        _img(got / f"{i:08d}.jpg")
    (got / "groundtruth.txt").write_text("1,2,3,4\n2,3,4,5\n3,4,5,6\n")
    test = tmp_path / "got/test/GOT-10k_Test_000001"
    for i in range(1, 4):
        _img(test / f"{i:08d}.jpg")
    (test / "groundtruth.txt").write_text("1,2,3,4")  # test split: only the first box
    ds = load_dataset(tmp_path / "got")
    assert len(ds["GOT-10k_Val_000001"]) == 3
    t = ds["GOT-10k_Test_000001"]
    assert len(t) == 3 and np.isnan(t.gt[1:]).all()
    lasot = tmp_path / "lasot/airplane/airplane-1"
    for i in range(1, 3):
        _img(lasot / "img" / f"{i:08d}.jpg")
    (lasot / "groundtruth.txt").write_text("1,2,3,4\n0,0,0,0\n")
    (lasot / "full_occlusion.txt").write_text("0,1")
    assert load_dataset(tmp_path / "lasot")["airplane-1"].gt[1].tolist() == [0, 0, 0, 0]
    uav = tmp_path / "uav"
    for i in range(1, 4):
        _img(uav / "data_seq/UAV123/bike1" / f"{i:06d}.jpg")
    (uav / "anno/UAV123").mkdir(parents=True)
    (uav / "anno/UAV123/bike1.txt").write_text("1,2,3,4\nNaN,NaN,NaN,NaN\n3,4,5,6\n")
    seq = load_dataset(uav)["bike1"]
    assert np.isnan(seq.gt[1]).all() and seq.gt[2].tolist() == [3, 4, 5, 6]


def test_read_boxes_delimiters(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_bytes(b"1\t2\t3\t4\r\n5 6 7 8\r\n9,10,11,12;\r\nnan,nan,nan,nan")
    b = read_boxes(p)
    assert b.shape == (4, 4) and b[2].tolist() == [9, 10, 11, 12] and np.isnan(b[3]).all()


def test_bad_ground_truth_line_names_file_and_line(tmp_path):
    seq = tmp_path / "Seq"
    for i in range(1, 4):
        _img(seq / "img" / f"{i:04d}.jpg")
    (seq / "groundtruth_rect.txt").write_text("1,2,3,4\n1,2,3\n1,2,3,4\n")
    with pytest.raises(RegtrackError, match=r"groundtruth_rect.txt:2: has 3 numbers"):
        load_dataset(tmp_path)
    (seq / "groundtruth_rect.txt").write_text("1,2,3,4\nx,2,3,4\n1,2,3,4\n")
    with pytest.raises(RegtrackError, match=r"groundtruth_rect.txt:2: not a line of numbers"):
        load_dataset(tmp_path)
    (seq / "groundtruth_rect.txt").write_text("1,2,3,4\n" * 5)
    with pytest.raises(RegtrackError, match="5 boxes but only 3 frames"):
        load_dataset(tmp_path)


def test_json_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"A": {"img_names": ["A/img/0001.jpg"], "gt_rect": [[1, 2, 3]]}}))
    with pytest.raises(RegtrackError, match="sequence A, box 1 has 3 numbers"):
        load_otb(bad)
    with pytest.raises(RegtrackError, match="annotation file not found"):
        load_otb(tmp_path / "none.json")


def test_missing_image_names_the_file(tmp_path):
    seq = tmp_path / "Seq"
    for i in range(1, 4):
        _img(seq / "img" / f"{i:04d}.jpg")
    (seq / "groundtruth_rect.txt").write_text("1,2,3,4\n" * 3)
    ds = load_dataset(tmp_path)
    (seq / "img/0002.jpg").unlink()
    with pytest.raises(RegtrackError, match=r"0002.jpg: image not found"):
        list(ds["Seq"].images())
    assert ds["Seq"].missing_frames() == [seq / "img/0002.jpg"]


def test_select_unknown_sequence(otb):
    assert otb.select(["tiger1", "Jogging_2"]).names() == ["Jogging-2", "Tiger1"]  # dataset order
    with pytest.raises(RegtrackError, match="no sequence 'Tigre1' in OTB100"):
        otb.select(["Tigre1"])


def test_pytracking_attribute_table(shared, otb):
    a = shared / "data/annotations"
    pt = load_otb(a / "OTB100.json", official_anno=a / "otb_attributes.json")
    assert list(pt.attribute_counts()) == list(otb.attribute_counts())
    differ = [s.name for s in otb if set(s.attributes) != set(pt[s.name].attributes)]
    assert len(differ) == 14  # reference.md: pytracking's table differs on 14 sequences
