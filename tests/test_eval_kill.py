"""Killing ``regtrack eval`` (SIGINT or SIGKILL, one or two workers): no process is left behind,
the parent does not wait for the sequences its workers are on, and every sequence that finished
is on disk (a resumed run skips exactly those and completes the rest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from regtrack.demo import synthetic_sequence
from regtrack.evaluation.results import format_boxes, read_result

N_SEQ, N_FRAMES = 5, 8000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Five sequences sharing one 8000-frame 64 x 48 clip (linked): seconds each for the
    static tracker, which reads every frame (the light tracker keeps the workers' start-up short)."""
    root = tmp_path_factory.mktemp("killdata")
    frames, gt = synthetic_sequence([[30.0, 24.0]], [[16.0, 12.0]], frame_size=(64, 48))
    img = root / "frames"
    img.mkdir()
    for i in range(1, N_FRAMES + 1):
        (img / f"{i:04d}.png").symlink_to(img / "0001.png") if i > 1 else \
            cv2.imwrite(str(img / "0001.png"), cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
    gt = np.repeat(gt, N_FRAMES, axis=0)
    for k in range(N_SEQ):
        seq = root / f"Seq{k}"
        seq.mkdir()
        (seq / "img").symlink_to(img)
        (seq / "groundtruth_rect.txt").write_text(format_boxes(gt))
    return root


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(240)
# SIGKILL with one worker (no worker process) is test_runner.py::test_kill_and_resume.
@pytest.mark.parametrize("sig,workers,to_group", [(signal.SIGINT, 1, True), (signal.SIGINT, 2, True),
                                                  (signal.SIGINT, 2, False), (signal.SIGKILL, 2, False)],
                         ids=["int-1-ctrl_c", "int-2-ctrl_c", "int-2-parent", "kill-2"])
def test_killing_eval_leaves_no_process_and_loses_nothing(dataset, tmp_path, sig, workers, to_group):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "regtrack", "eval", "--tracker", "static", "--root", str(dataset),
           "--out", str(out), "--workers", str(workers), "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group: the workers join it
    deadline = time.time() + 180
    while proc.poll() is None and time.time() < deadline and not list((out / "static").glob("Seq?.txt")):
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()  # still running: some sequences are in flight
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    t0 = time.time()
    _, err = proc.communicate(timeout=60)
    exited = time.time() - t0
    gone = time.time() + 10  # the kernel kills the workers with their parent, not a sequence later
    while _group_alive(proc.pid) and time.time() < gone:
        time.sleep(0.05)
    assert not _group_alive(proc.pid), "a worker outlived eval"
    finished = sorted(p.stem for p in (out / "static").glob("Seq?.txt"))
    assert finished and len(finished) < N_SEQ
    for name in finished:  # every file on disk is a whole sequence
        assert read_result(out / "static" / f"{name}.txt").shape == (N_FRAMES, 4)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "finished work is saved" in err
        # It stops the workers instead of waiting for the sequences they are on (each takes
        # several seconds; before, the parent waited for them and then dropped their results).
        assert exited < 4.0, exited
    if workers == 1:
        return
    # resuming skips exactly the finished sequences (nothing finished is redone or lost)
    again = subprocess.run(cmd + ["--sequences", ",".join(finished)], env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"0 run, {len(finished)} already done (skipped)" in again.stdout
