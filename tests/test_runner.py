"""The runner and ``regtrack eval``: result files, params.json, resume (also after a kill), tracker
exceptions kept as the previous box, parallel processes, Ray, TRE/SRE, missing frames."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from regtrack.cli import main
from regtrack.datasets.folders import load_dataset
from regtrack.datasets.otb import load_otb
from regtrack.evaluation.results import read_result, read_times
from regtrack.evaluation.runner import evaluate_runs, run_dataset, shift_box, tre_starts
from regtrack.trackers.base import Tracker, register_tracker


@dataclasses.dataclass
class _FlakyParams:
    every: int = 3


class _Flaky(Tracker):
    """Moves one pixel right per frame and raises on every ``every``-th update."""

    name = "_test_flaky"
    Params = _FlakyParams

    def init(self, image, box):
        self.box, self.n = np.asarray(box, float).copy(), 0

    def update(self, image):
        self.n += 1
        if self.n % self.params.every == 0:
            raise RuntimeError("boom")
        self.box = self.box + [1, 0, 0, 0]
        return self.box


@pytest.fixture(scope="module", autouse=True)
def _flaky_registered():
    """Register the test tracker for this module only (the registry is global)."""
    from regtrack.trackers import base

    register_tracker("_test_flaky")(_Flaky)
    yield
    base._REGISTRY.pop("_test_flaky", None)


@pytest.fixture(scope="module")
def otb(shared):
    return load_otb(shared / "data/annotations/OTB100.json", shared / "data/otb")


def test_run_writes_results_params_and_resumes(otb, tmp_path):
    ds = otb.select(["Skiing", "Bird2"])
    rep = run_dataset("static", ds, tmp_path, progress=False)
    assert sorted(rep.done) == ["Bird2", "Skiing"] and not rep.failed
    out = tmp_path / "static"
    boxes = read_result(out / "Skiing.txt")
    assert boxes.shape == (81, 4) and np.allclose(boxes, otb["Skiing"].init_box)
    assert len(read_times(out, "Skiing")) == 81
    assert json.loads((out / "params.json").read_text())["tracker"] == "static"
    again = run_dataset("static", ds, tmp_path, progress=False)
    assert again.done == [] and sorted(again.skipped) == ["Bird2", "Skiing"]


def test_tracker_exception_keeps_previous_box(otb, tmp_path):
    rep = run_dataset("_test_flaky", otb.select(["Skiing"]), tmp_path, progress=False)
    assert rep.frame_errors == {"Skiing": 80 // 3}
    assert "RuntimeError: boom" in rep.first_frame_error["Skiing"]
    b = read_result(tmp_path / "_test_flaky/Skiing.txt")
    x0 = otb["Skiing"].init_box[0]
    assert b[2, 0] == x0 + 2 and b[3, 0] == x0 + 2 and b[4, 0] == x0 + 3  # frame 4 failed: kept frame 3's
    with pytest.raises(Exception, match="other parameters"):
        run_dataset("_test_flaky", otb.select(["Skiing"]), tmp_path, params={"every": 5}, progress=False)


def test_parallel_workers(otb, tmp_path):
    ds = otb.select(["Skiing", "Bird2", "Football1"])
    rep = run_dataset("static", ds, tmp_path, workers=2, progress=False)
    assert sorted(rep.done) == ["Bird2", "Football1", "Skiing"]
    assert read_result(tmp_path / "static/Football1.txt").shape == (74, 4)


def test_tre_and_sre(otb, tmp_path):
    starts = tre_starts(otb["Panda"])
    assert len(starts) == 20 and starts[0] == 0 and len(otb["Panda"]) - starts[-1] >= 20
    assert shift_box([10, 10, 20, 40], "left").tolist() == [8, 10, 20, 40]
    assert shift_box([10, 10, 20, 40], "down").tolist() == [10, 14, 20, 40]  # y, not the width
    assert shift_box([10, 10, 20, 40], "scale_8").tolist() == [12, 14, 16, 32]
    seq = tmp_path / "data/Tiny"  # 30 small frames: the runs cost nothing but their bookkeeping
    (seq / "img").mkdir(parents=True)
    for i in range(1, 31):
        cv2.imwrite(str(seq / f"img/{i:04d}.jpg"), np.full((30, 40, 3), 8 * i, np.uint8))
    (seq / "groundtruth_rect.txt").write_text("".join(f"{5 + i % 3},6,10,8\n" for i in range(30)))
    ds = load_dataset(tmp_path / "data")
    rep = run_dataset("static", ds, tmp_path, eval_type="sre", progress=False)
    assert len(rep.done) == 12
    runs = json.loads((tmp_path / "static_SRE/Tiny/runs.json").read_text())
    assert [r["shift"] for r in runs][:2] == ["left", "right"] and runs[0]["init_box"] == [4, 6, 10, 8]
    rep = run_dataset("static", ds, tmp_path, eval_type="tre", progress=False)
    assert len(rep.done) == 20
    scores = evaluate_runs(tmp_path / "static_TRE", ds)
    assert scores["sequences"] == 1 and 0 < scores["auc"] <= 1


def test_missing_frame_is_one_line_error(shared, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(shared / "data/otb/Skiing", root / "Skiing")
    (root / "Skiing/img/0040.jpg").unlink()
    ann = str(shared / "data/annotations/OTB100.json")
    ds = load_otb(ann, root).select(["Skiing"])
    rep = run_dataset("static", ds, tmp_path / "out", progress=False)
    assert "0040.jpg: image not found" in rep.failed["Skiing"]
    assert not (tmp_path / "out/static/Skiing.txt").exists()
    out = str(tmp_path / "o2")
    assert main(["eval", "--tracker", "static", "--root", str(root), "--annotations", ann, "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Skiing/img/0040.jpg: image not found (1 of the 81 frames of Skiing are missing)" in err[-1]
    with pytest.raises(Exception, match="frame 40 is missing between 0039.jpg and 0041.jpg"):  # by the names
        load_dataset(root)


def test_eval_cli_notes_absent_sequences(shared, tmp_path, capsys):
    rc = main(["eval", "--tracker", "static", "--root", str(shared / "data/otb"), "--annotations",
               str(shared / "data/annotations/OTB100.json"), "--out", str(tmp_path),
               "--sequences", "Skiing,Basketball,Jogging-2", "--no-progress"])
    assert rc == 0
    cap = capsys.readouterr()
    assert "1 of 3 sequences have no frames" in cap.err and "Basketball" in cap.err
    assert "static on 2 sequence(s): AUC" in cap.out
    assert main(["eval", "--tracker", "static", "--root", str(shared / "data/otb"), "--out", str(tmp_path),
                 "--param", "x=1"]) == 2
    assert "has no parameter 'x'" in capsys.readouterr().err


def test_kill_and_resume(shared, tmp_path):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "regtrack", "eval", "--tracker", "static",
           "--root", str(shared / "data/otb"), "--annotations", str(shared / "data/annotations/OTB100.json"),
           "--out", str(out),
           "--sequences", "Bird2,FaceOcc1,Panda", "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    first = out / "static/Bird2.txt"
    deadline = time.time() + 120
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # killed right after the first sequence finished
    proc.wait()
    print("finished before the kill:", sorted(p.name for p in (out / "static").glob("*.txt")))
    assert first.exists()
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "static").glob("*.txt")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    skipped = int(done.stdout.split(" already done")[0].split(",")[-1].split()[0])
    assert skipped == sum(1 for n in before if not n.endswith("_time.txt"))
    for name, (mtime, data) in before.items():  # nothing finished was redone
        p = out / "static" / name
        assert p.stat().st_mtime_ns == mtime and p.read_bytes() == data
    for seq, n in (("Bird2", 99), ("FaceOcc1", 892), ("Panda", 1000)):  # nothing lost
        assert read_result(out / f"static/{seq}.txt").shape == (n, 4)


@pytest.mark.timeout(300)
def test_ray_local_cluster(otb, tmp_path):
    ray = pytest.importorskip("ray")
    try:
        rep = run_dataset("static", otb.select(["Skiing", "Bird2"]), tmp_path, ray_address="local",
                          progress=False)
    finally:
        ray.shutdown()
    assert sorted(rep.done) == ["Bird2", "Skiing"] and not rep.failed
    assert read_result(tmp_path / "static/Bird2.txt").shape == (99, 4)


def test_tre_results_from_the_otb_toolkit(tmp_path, capsys):
    import scipy.io

    seq = tmp_path / "data/Tiny"
    (seq / "img").mkdir(parents=True)
    for i in range(1, 31):
        cv2.imwrite(str(seq / f"img/{i:04d}.jpg"), np.zeros((30, 40, 3), np.uint8))
    gt = np.array([[5 + i % 3, 6, 10, 8] for i in range(30)], float)
    (seq / "groundtruth_rect.txt").write_text("".join(",".join(map(str, r)) + "\n" for r in gt.astype(int)))
    runs = np.empty((1, 2), dtype=object)  # results{1..2}: perfect runs from frames 1 and 11
    runs[0, 0] = {"type": "rect", "res": gt, "startFrame": 1.0, "annoBegin": 1.0, "len": 30.0}
    runs[0, 1] = {"type": "rect", "res": gt[10:], "startFrame": 11.0, "annoBegin": 1.0, "len": 20.0}
    (tmp_path / "res/T").mkdir(parents=True)
    scipy.io.savemat(tmp_path / "res/T/Tiny_T.mat", {"results": runs})
    assert main(["report", str(tmp_path / "res"), "--root", str(tmp_path / "data"), "--eval-type", "tre",
                 "--json", str(tmp_path / "o.json"), "--no-plots"]) == 0
    r = json.loads((tmp_path / "o.json").read_text())["T"]
    assert r["auc"] == pytest.approx(20 / 21) and r["precision"] == 1.0
    assert "1 sequences, TRE" in capsys.readouterr().out


def test_invalid_first_box_cannot_start(tmp_path):
    seq = tmp_path / "data/Bad"
    (seq / "img").mkdir(parents=True)
    for i in range(1, 4):
        cv2.imwrite(str(seq / f"img/{i:04d}.jpg"), np.zeros((30, 40, 3), np.uint8))
    (seq / "groundtruth_rect.txt").write_text("NaN,NaN,NaN,NaN\n1,2,3,4\n1,2,3,4\n")
    with pytest.raises(Exception, match=r"sequence Bad: the first ground-truth box .* is invalid"):
        run_dataset("static", load_dataset(tmp_path / "data"), tmp_path / "out", progress=False)


class _NoWeights(Tracker):
    """Fails at ``init`` like a tracker whose weights file is missing."""

    name = "_test_noweights"

    def init(self, image, box):
        from regtrack.errors import RegtrackError

        raise RegtrackError("no weights file here", path="/nowhere/w.pth", fix="pass --param weights=FILE")

    def update(self, image):  # pragma: no cover - never reached
        raise AssertionError


def test_eval_where_every_run_fails_says_why_first(shared, tmp_path, capsys):
    from regtrack.trackers import base

    register_tracker("_test_noweights")(_NoWeights)
    try:
        rc = main(["eval", "--tracker", "_test_noweights", "--root", str(shared / "data/otb"),
                   "--annotations", str(shared / "data/annotations/OTB100.json"), "--out", str(tmp_path),
                   "--sequences", "Skiing,Bird2", "--no-progress"])
    finally:
        base._REGISTRY.pop("_test_noweights", None)
    assert rc == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "every run failed" in last and "/nowhere/w.pth: no weights file here" in last
    assert "another dataset" not in last


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), default=1)


def test_workers_run_one_blas_thread_each() -> None:
    """numpy's OpenBLAS is loaded before a worker's start-up code runs; left at a thread per core,
    its spinning threads made two workers 6x slower per frame on two cores."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from regtrack.evaluation.runner import _worker_init

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)) as pool:
        assert pool.submit(_blas_threads).result(timeout=120) == 1
