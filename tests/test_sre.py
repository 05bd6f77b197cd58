"""SRE's 12 initial boxes are the MATLAB toolkit's ``shiftInitBB.m`` (tracker_benchmark_v1.0):
``ceil(0.1 w)`` moves, corner shifts that grow the box, MATLAB's round-half-away-from-zero, and
its clipping rules (x < 1 -> 1 keeping the width, then the width trimmed at the far edge)."""

import json
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

from regtrack.datasets.sources import list_images, read_image
from regtrack.evaluation.runner import SRE_SHIFTS, matlab_round, shift_box


def _mround(v):
    """MATLAB round on the exact value of the double (an oracle independent of matlab_round)."""
    return float(Decimal(v).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _shift_init_bb(r, shift, img_h=None, img_w=None):
    """``shiftInitBB.m`` line by line (1-based r = [x y w h]), the test's oracle."""
    r = [float(v) for v in r]
    br_x, br_y = r[0] + r[2] - 1, r[1] + r[3] - 1
    center = [r[0] + r[2] / 2, r[1] + r[3] / 2]
    if shift.startswith("scale_"):
        ratio = {"scale_8": 0.8, "scale_9": 0.9, "scale_11": 1.1, "scale_12": 1.2}[shift]
        w, h = ratio * r[2], ratio * r[3]
        r = [_mround(center[0] - w / 2), _mround(center[1] - h / 2), _mround(w), _mround(h)]
    elif shift == "left":
        r[0] = r[0] - math.ceil(0.1 * r[2])
    elif shift == "right":
        r[0] = r[0] + math.ceil(0.1 * r[2])
    elif shift == "up":
        r[1] = r[1] - math.ceil(0.1 * r[3])
    elif shift == "down":
        r[1] = r[1] + math.ceil(0.1 * r[3])
    elif shift == "topLeft":
        r[0] = _mround(r[0] - 0.1 * r[2])
        r[1] = _mround(r[1] - 0.1 * r[3])
        r[2], r[3] = br_x - r[0] + 1, br_y - r[1] + 1
    elif shift == "topRight":
        br_x = _mround(br_x + 0.1 * r[2])
        r[1] = _mround(r[1] - 0.1 * r[3])
        r[2], r[3] = br_x - r[0] + 1, br_y - r[1] + 1
    elif shift == "bottomLeft":
        r[0] = _mround(r[0] - 0.1 * r[2])
        br_y = _mround(br_y + 0.1 * r[3])
        r[2], r[3] = br_x - r[0] + 1, br_y - r[1] + 1
    elif shift == "bottomRight":
        br_x = _mround(br_x + 0.1 * r[2])
        br_y = _mround(br_y + 0.1 * r[3])
        r[2], r[3] = br_x - r[0] + 1, br_y - r[1] + 1
    if img_w is not None:
        if r[0] < 1:
            r[0] = 1
        if r[1] < 1:
            r[1] = 1
        if r[0] + r[2] - 1 > img_w:
            r[2] = img_w - r[0] + 1
        if r[1] + r[3] - 1 > img_h:
            r[3] = img_h - r[1] + 1
    return r


def test_matlab_round_halves_away_from_zero():
    assert [matlab_round(v) for v in (2.5, 3.5, -2.5, 0.49999999999999994, 12.5, -0.4)] == \
        [3.0, 4.0, -3.0, 0.0, 13.0, -0.0]
    assert round(12.5) == 12  # what Python would have given


# Worked by hand from shiftInitBB.m, image 100 x 80 (W x H).
# A box at the top-left corner: moves clip back to x = 1 / y = 1 keeping the size (the box moves);
# corner shifts grow the box by one corner, then clip.
TOP_LEFT = {"left": [1, 1, 30, 20], "right": [4, 1, 30, 20], "up": [1, 1, 30, 20], "down": [1, 3, 30, 20],
            "topLeft": [1, 1, 33, 22], "topRight": [1, 1, 33, 22], "bottomLeft": [1, 1, 33, 22],
            "bottomRight": [1, 1, 33, 22], "scale_8": [4, 3, 24, 16], "scale_9": [3, 2, 27, 18],
            "scale_11": [1, 1, 33, 22], "scale_12": [1, 1, 36, 24]}
# A box at the bottom-right corner: the width / height are trimmed at the far edge.
BOTTOM_RIGHT = {"left": [68, 61, 30, 20], "right": [74, 61, 27, 20], "up": [71, 59, 30, 20],
                "down": [71, 63, 30, 18], "topLeft": [68, 59, 33, 22], "topRight": [71, 59, 30, 22],
                "bottomLeft": [68, 61, 33, 20], "bottomRight": [71, 61, 30, 20], "scale_8": [74, 63, 24, 16],
                "scale_9": [73, 62, 27, 18], "scale_11": [70, 60, 31, 21], "scale_12": [68, 59, 33, 22]}
# Inside the image, with halves: x + w/2 = 22.5 -> scale_8 x = round(12.5) = 13 (NumPy: 12);
# ceil(0.1 * 25) = 3 (a rounded 10 % would be 2).
INSIDE = {"left": [7, 10, 25, 15], "right": [13, 10, 25, 15], "up": [10, 8, 25, 15], "down": [10, 12, 25, 15],
          "topLeft": [8, 9, 27, 16], "topRight": [10, 9, 28, 16], "bottomLeft": [8, 10, 27, 17],
          "bottomRight": [10, 10, 28, 17], "scale_8": [13, 12, 20, 12], "scale_9": [11, 11, 23, 14],
          "scale_11": [9, 9, 28, 17], "scale_12": [8, 9, 30, 18]}


@pytest.mark.parametrize("shift", SRE_SHIFTS)
def test_each_shift_on_boxes_touching_each_border(shift):
    assert shift_box([1, 1, 30, 20], shift, (100, 80)).tolist() == TOP_LEFT[shift]
    assert shift_box([71, 61, 30, 20], shift, (100, 80)).tolist() == BOTTOM_RIGHT[shift]
    assert shift_box([10, 10, 25, 15], shift, (100, 80)).tolist() == INSIDE[shift]
    # the other two borders: top-right and bottom-left corners, against the oracle
    for box in ([71, 1, 30, 20], [1, 61, 30, 20], [1, 30, 99, 10], [40, 1, 8, 80]):
        assert shift_box(box, shift, (100, 80)).tolist() == _shift_init_bb(box, shift, 80, 100)


def test_corner_shifts_keep_the_opposite_corner():
    x, y, w, h = 10, 10, 25, 15
    for shift, fixed in (("topLeft", "br"), ("topRight", "bl"), ("bottomLeft", "tr"), ("bottomRight", "tl")):
        bx, by, bw, bh = shift_box([x, y, w, h], shift)
        corners = {"tl": (bx, by), "tr": (bx + bw - 1, by), "bl": (bx, by + bh - 1),
                   "br": (bx + bw - 1, by + bh - 1)}
        original = {"tl": (x, y), "tr": (x + w - 1, y), "bl": (x, y + h - 1), "br": (x + w - 1, y + h - 1)}
        assert corners[fixed] == original[fixed], shift
        assert bw > w and bh > h, shift  # it grows; it is not a translation


def test_the_12_sre_boxes_of_every_otb100_target(shared):
    """All 100 targets from the annotations against the oracle, clipped as the toolkit clips:
    to the first frame's size for the sequences on disk, else at the top/left border only (the
    far edges need the image size)."""
    anno = json.loads((shared / "data" / "annotations" / "OTB100.json").read_text())
    assert len(anno) == 100
    otb = shared / "data" / "otb"
    clipped, on_disk = set(), 0
    for name, meta in anno.items():
        gt0 = meta["gt_rect"][0]
        folder = otb / meta["video_dir"] / "img"
        W = H = 10**6
        if folder.is_dir():
            H, W = read_image(list_images(folder)[0]).shape[:2]
            on_disk += 1
        for shift in SRE_SHIFTS:
            got = shift_box(gt0, shift, (W, H)).tolist()
            assert got == _shift_init_bb(gt0, shift, H, W), (name, shift)
            if got != shift_box(gt0, shift).tolist():
                clipped.add((name, shift))
    assert on_disk >= 20
    # Deer's target touches the top border: y < 1 becomes 1 and the height is kept
    assert clipped == {("Deer", "up"), ("Deer", "topLeft"), ("Deer", "topRight"), ("Deer", "scale_12")}
    deer = anno["Deer"]["gt_rect"][0]
    assert deer == [306, 5, 95, 65]
    big = (10**6, 10**6)
    assert shift_box(deer, "up", big).tolist() == [306, 1, 95, 65]            # 5 - ceil(6.5) = -2 -> 1
    assert shift_box(deer, "topLeft", big).tolist() == [297, 1, 104, 72]      # round(296.5) = 297
    assert shift_box(deer, "topRight", big).tolist() == [306, 1, 105, 72]     # round(409.5) = 410
    assert shift_box(deer, "scale_12", big).tolist() == [297, 1, 114, 78]
