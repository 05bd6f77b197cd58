"""Running a tracker over a dataset: one result file per sequence, resumable, in parallel.

``run_dataset("static", dataset, "runs/")`` writes ``runs/static/SEQ.txt`` (comma OTB boxes
``x,y,w,h``, 1-based, one row per frame) and ``SEQ_time.txt`` for every sequence, plus
``runs/static/params.json`` (the hyperparameters used). Each file is written atomically after its
sequence finishes (:func:`regtrack.evaluation.results.write_result`), so a run that is killed and
started again skips every finished sequence and loses none. Sequences run in worker processes
(``workers=N``) or on a Ray cluster (``ray_address=``); the driver writes every file.

A tracker exception (or a non-finite box) on a frame does not stop the run: that frame keeps the
previous box, and the number of such frames is reported per sequence. A missing or unreadable
frame fails its sequence with the one-line error that names the file.

Evaluation types (reference.md §2.1): OPE (from the first frame), TRE (``splitSeqTRE.m``: 20
segments starting at valid, non-occluded frames spread evenly, each to the end of the sequence) and
SRE (the toolkit's ``shiftInitBB.m``, :func:`shift_box`: 12 runs from frame 1 with the initial box
moved by ``ceil(0.1 w)`` / ``ceil(0.1 h)``, grown by one corner, or scaled by 0.8, 0.9, 1.1, 1.2
about its centre). TRE/SRE runs are written as ``SEQ/RUN.txt`` with
``SEQ/runs.json`` (start frame and shift of each run) in ``OUT/TRACKER_TRE`` or ``OUT/TRACKER_SRE``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from regtrack.core.box import check_tracked_box
from regtrack.datasets.base import Dataset, Sequence
from regtrack.errors import RegtrackError
from regtrack.evaluation.results import first_frame_number, read_boxes, write_result
from regtrack.fileio import atomic_write

EVAL_TYPES = ("ope", "tre", "sre")
SRE_SHIFTS = ("left", "right", "up", "down", "topLeft", "topRight", "bottomLeft", "bottomRight",
              "scale_8", "scale_9", "scale_11", "scale_12")


@dataclass
class Task:
    """One run of the tracker: frames ``start..end`` of ``seq`` from ``init_box`` (OTB box)."""

    seq: str
    stem: str  # result file name without .txt, relative to the tracker's output folder
    frames: list[str]
    init_box: list[float]
    start: int = 0  # 0-based index of the first frame in the sequence
    shift: str = ""


@dataclass
class RunReport:
    """What a call to :func:`run_dataset` did."""

    out_dir: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    frame_errors: dict[str, int] = field(default_factory=dict)
    first_frame_error: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    frames: int = 0

    def summary(self) -> str:
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        parts = [f"{len(self.done)} run, {len(self.skipped)} already done (skipped)"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.frame_errors:
            n = sum(self.frame_errors.values())
            parts.append(f"{n} frame(s) where the tracker raised and the previous box was kept "
                         f"({', '.join(f'{k}: {v}' for k, v in self.frame_errors.items())})")
        if self.frames:
            parts.append(f"{self.frames} frames at {fps:.1f} fps (tracker time)")
        return f"{self.out_dir}: " + "; ".join(parts)


# ---------------------------------------------------------------------------------------- tasks
def ope_tasks(seq: Sequence) -> list[Task]:
    """OPE: one run from the first frame with the first ground-truth box."""
    return [Task(seq.name, seq.name, [str(p) for p in seq.frames], [float(v) for v in seq.init_box])]


def tre_starts(seq: Sequence, segments: int = 20, min_length: int = 20) -> list[int]:
    """0-based start indices of the TRE segments, as ``splitSeqTRE.m`` picks them.

    Frames in the init-omit ranges (occlusion / out of view) and frames with invalid ground truth
    cannot start a segment; starts are spread evenly over the candidates that leave at least
    ``min_length`` frames: ``[floor(1 : n/(segments-1) : n), n]``.
    """
    n_frames = len(seq)
    ok = np.ones(n_frames, dtype=bool)
    first = first_frame_number(seq)
    for a, b in seq.init_omit:  # absolute frame numbers -> sequence indices
        ok[max(a - first, 0): max(b - first + 1, 0)] = False
    with np.errstate(invalid="ignore"):
        ok &= np.all(seq.gt > 0, axis=1)
    idx = np.flatnonzero(ok)  # 0-based
    idx = idx[n_frames - idx >= min_length]
    if len(idx) == 0:
        return [0]
    n = len(idx)
    step = n / (segments - 1)
    ks = np.floor(1 + np.arange(0, segments) * step + 1e-9)  # MATLAB colon 1:step:n
    ks = [int(k) for k in ks if k <= n + 1e-9][: segments - 1] + [n]
    return [int(idx[k - 1]) for k in ks]


def tre_tasks(seq: Sequence, segments: int = 20) -> list[Task]:
    """TRE: one run per segment start, each to the end of the sequence."""
    frames = [str(p) for p in seq.frames]
    return [Task(seq.name, f"{seq.name}/tre_{i + 1:02d}", frames[s:], [float(v) for v in seq.gt[s]], start=s)
            for i, s in enumerate(tre_starts(seq, segments))]


def matlab_round(value: float) -> float:
    """MATLAB's ``round``: halves away from zero (``round(2.5) = 3``, ``round(-2.5) = -3``), where
    Python's and NumPy's round halves to even (2.5 -> 2)."""
    whole = math.trunc(value)
    return float(whole + (math.copysign(1.0, value) if abs(value - whole) >= 0.5 else 0.0))


def shift_box(box: np.ndarray, shift: str, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """The SRE initial OTB box, exactly as the MATLAB toolkit's ``shiftInitBB.m`` makes it.

    ``left``/``right``/``up``/``down`` move the box by ``ceil(0.1 w)`` / ``ceil(0.1 h)``. The
    corner shifts move one corner out by ``round(0.1 w)``, ``round(0.1 h)`` and keep the opposite
    corner fixed, so the box grows (``topLeft`` moves the top-left corner up and left). The
    ``scale_R`` shifts scale ``w, h`` by ``R/10`` about ``(x + w/2, y + h/2)`` and round all four
    numbers. ``round`` is MATLAB's (:func:`matlab_round`). With ``image_size = (W, H)`` the box is
    clipped as the toolkit clips it: ``x < 1`` becomes 1 without shortening the width (the box
    moves right), and only then is the width trimmed at the right edge (the same for ``y``, ``h``).
    """
    x, y, w, h = (float(v) for v in box)
    right, bottom = x + w - 1, y + h - 1  # the corner a corner shift keeps (br_x, br_y)
    if shift.startswith("scale_") and shift in SRE_SHIFTS:
        ratio = int(shift.split("_")[1]) / 10.0
        cx, cy = x + w / 2, y + h / 2
        sw, sh = ratio * w, ratio * h
        x, y, w, h = (matlab_round(v) for v in (cx - sw / 2, cy - sh / 2, sw, sh))
    elif shift in ("left", "right"):
        x += math.ceil(0.1 * w) * (1 if shift == "right" else -1)
    elif shift in ("up", "down"):
        y += math.ceil(0.1 * h) * (1 if shift == "down" else -1)
    elif shift in ("topLeft", "topRight", "bottomLeft", "bottomRight"):
        if shift.endswith("Left"):
            x = matlab_round(x - 0.1 * w)
        else:
            right = matlab_round(right + 0.1 * w)
        if shift.startswith("top"):
            y = matlab_round(y - 0.1 * h)
        else:
            bottom = matlab_round(bottom + 0.1 * h)
        w, h = right - x + 1, bottom - y + 1
    else:
        raise ValueError(f"unknown SRE shift {shift!r}; one of {', '.join(SRE_SHIFTS)}")
    if image_size is not None:
        W, H = image_size
        x, y = max(x, 1.0), max(y, 1.0)
        if x + w - 1 > W:
            w = W - x + 1
        if y + h - 1 > H:
            h = H - y + 1
    return np.array([x, y, w, h], dtype=np.float64)


def sre_tasks(seq: Sequence) -> list[Task]:
    """SRE: 12 runs from the first frame with perturbed initial boxes."""
    from regtrack.datasets.sources import read_image

    frames = [str(p) for p in seq.frames]
    img = read_image(frames[0])  # the toolkit clips to the first frame's size: it must be read
    size = (img.shape[1], img.shape[0])
    return [Task(seq.name, f"{seq.name}/sre_{i + 1:02d}", frames,
                 [float(v) for v in shift_box(seq.init_box, s, size)], shift=s)
            for i, s in enumerate(SRE_SHIFTS)]


def make_tasks(dataset: Dataset, eval_type: str = "ope") -> list[Task]:
    """All runs of ``eval_type`` ('ope', 'tre', 'sre') over ``dataset``."""
    eval_type = eval_type.lower()
    if eval_type not in EVAL_TYPES:
        raise RegtrackError(f"unknown evaluation type {eval_type!r}", fix="choose ope, tre or sre")
    make: Callable[[Sequence], list[Task]] = {"ope": ope_tasks, "tre": tre_tasks, "sre": sre_tasks}[eval_type]
    tasks = []
    for seq in dataset:
        if not np.all(np.isfinite(seq.init_box)) or np.any(seq.init_box[2:] <= 0):
            raise RegtrackError(f"sequence {seq.name}: the first ground-truth box {seq.init_box.tolist()} "
                                "is invalid, so the tracker cannot start",
                                fix="fix the annotation's first line")
        tasks.extend(make(seq))
    return tasks


# --------------------------------------------------------------------------------------- running
def _worker_init(parent: int) -> None:
    """Start-up of a worker process: one thread each, Ctrl-C left to the parent (it reaches the
    whole process group; the parent saves what finished and stops the workers), and no life
    after the parent's: the kernel kills the worker when its parent dies (Linux
    ``PR_SET_PDEATHSIG``), and a watcher thread notices a new parent process elsewhere."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read by torch when the task imports it
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    # numpy's OpenBLAS was loaded with this module, before the line above, with a thread per core:
    # its spinning threads then fight the other workers' (udtplus: 14 -> 80 ms a frame with two
    # workers on two cores). threadpoolctl lowers it in place.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="regtrack-parent-watch").start()


_PREVIOUS_SIGINT: list[Any] = []


def _catch_interrupt(restore: bool = False) -> threading.Event:
    """While workers run, Ctrl-C only sets the returned event, which the driver loop checks
    between waits: a KeyboardInterrupt raised inside ``concurrent.futures.wait`` could leave a
    future's lock held and the pool's manager thread (joined at exit) blocked on it. Outside the
    main thread signals cannot be caught, and Ctrl-C stays the plain KeyboardInterrupt."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return event
    if restore:
        if _PREVIOUS_SIGINT:
            signal.signal(signal.SIGINT, _PREVIOUS_SIGINT.pop())
        return event
    _PREVIOUS_SIGINT.append(signal.signal(signal.SIGINT, lambda signum, frame: event.set()))
    return event


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started and kill the workers (the sequences they were
    on are lost anyway, and waiting could take minutes)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:  # its feeder thread may be blocked writing a task (the frame list
        call_queue.cancel_join_thread()  # is larger than a pipe) that no worker will read now
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.kill()
    for proc in processes:
        proc.join(timeout=10)


def run_task(tracker: str, params: dict[str, Any], task: Task) -> dict[str, Any]:
    """Track one run in this process -> ``{stem, boxes, times, frame_errors, first_error}``.

    Picklable and self-contained: it is what worker processes and Ray tasks execute.
    """
    from regtrack.datasets.sources import read_image
    from regtrack.trackers.base import create_tracker

    trk = create_tracker(tracker, params)
    n = len(task.frames)
    boxes = np.zeros((n, 4))
    times = np.zeros(n)
    errors, first_error = 0, ""
    box = np.asarray(task.init_box, dtype=np.float64)
    image = read_image(task.frames[0])
    t0 = time.perf_counter()
    trk.init(image, box.copy())
    times[0] = time.perf_counter() - t0
    boxes[0] = box
    for i in range(1, n):
        image = read_image(task.frames[i])  # a missing frame fails the sequence, naming the file
        t0 = time.perf_counter()
        try:
            box = check_tracked_box(trk.update(image), i, tracker)
        except Exception as err:  # noqa: BLE001 - one bad frame must not kill the run
            errors += 1
            if not first_error:
                first_error = f"frame {i + 1}: {type(err).__name__}: {err}"
        times[i] = time.perf_counter() - t0
        boxes[i] = box
    return {"stem": task.stem, "boxes": boxes, "times": times, "frame_errors": errors,
            "first_error": first_error}


def _is_done(path: Path, n: int) -> bool:
    if not path.is_file():
        return False
    try:
        return len(read_boxes(path, allow_empty=True)) == n
    except RegtrackError:
        return False


def _check_inputs(out: Path, tasks: list[Task]) -> None:
    """Results are reused only for the data they were made from: ``inputs.json`` records each
    run's initial box, start frame and frame count; a finished run whose record differs (the
    ground truth's first line changed, frames were added) is an error, like changed parameters."""
    path = out / "inputs.json"
    try:
        old = json.loads(path.read_text()) if path.is_file() else {}
    except (json.JSONDecodeError, OSError):
        old = {}
    new = {t.stem: {"init_box": [float(v) for v in t.init_box], "start_frame": t.start + 1,
                    "frames": len(t.frames)} for t in tasks}
    for stem, now in new.items():
        before = old.get(stem)
        if before is None or before == now or not (out / f"{stem}.txt").is_file():
            continue
        changed = ", ".join(f"{k} {before.get(k)} -> {now[k]}" for k in now if before.get(k) != now[k])
        raise RegtrackError(f"the results for {stem} here were made for other data ({changed})", path=path,
                            fix=f"use another --out (or --name), or delete {out / stem}.txt to run it again")
    atomic_write(path, json.dumps({**old, **new}, indent=1) + "\n")


def _check_params(out: Path, record: dict[str, Any]) -> None:
    path = out / "params.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError:
            old = None
        new = (record["tracker"], record["params"])
        if old is not None and (old.get("tracker"), old.get("params")) != new:
            before, now = old.get("params", {}), record["params"]
            diff = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
            changed = ', '.join(diff) or 'tracker'
            raise RegtrackError(f"results here were made with other parameters ({changed})",
                                path=path, fix="use another --out (or --name), or delete it to start over")
    atomic_write(path, json.dumps(record, indent=1, default=str) + "\n")


def run_dataset(tracker: str, dataset: Dataset, out_dir: str | Path, params: dict[str, Any] | None = None,
                eval_type: str = "ope", workers: int = 1, ray_address: str | None = None,
                name: str | None = None, progress: bool = True) -> RunReport:
    """Run ``tracker`` over ``dataset``; results in ``out_dir/NAME`` (NAME = ``name`` or the tracker's
    name, ``_TRE`` / ``_SRE`` appended for those). Finished runs are skipped (resume)."""
    import dataclasses

    from tqdm import tqdm

    from regtrack.trackers.base import check_params, tracker_class

    params = dict(params or {})
    # Validate the name and the overrides before any work, without building the tracker (weights).
    try:
        used = dataclasses.replace(tracker_class(tracker).Params(), **params)
    except TypeError as err:
        raise RegtrackError(f"tracker {tracker!r}: {err}", fix="check the --param keys") from None
    check_params(used, tracker)
    used_dict = json.loads(json.dumps(dataclasses.asdict(used), default=str))
    folder = name or tracker
    if eval_type.lower() != "ope":
        folder += "_" + eval_type.upper()
    from regtrack.fileio import check_output_path

    out = check_output_path(Path(out_dir) / folder, option="the results folder", folder=True)
    from regtrack import __version__

    _check_params(out, {"tracker": tracker, "params": used_dict, "overrides": params,
                        "eval_type": eval_type.lower(), "regtrack": __version__})
    tasks = make_tasks(dataset, eval_type)
    _check_inputs(out, tasks)
    report = RunReport(out)
    todo = []
    for t in tasks:
        if _is_done(out / f"{t.stem}.txt", len(t.frames)):
            report.skipped.append(t.stem)
        else:
            todo.append(t)
    if eval_type.lower() != "ope":
        for seq in dataset:
            runs = [{"file": f"{t.stem.split('/')[-1]}.txt", "start_frame": t.start + 1, "shift": t.shift,
                     "init_box": t.init_box} for t in tasks if t.seq == seq.name]
            atomic_write(out / seq.name / "runs.json", json.dumps(runs, indent=1))
    bar = tqdm(total=sum(len(t.frames) for t in todo), unit="frame", disable=not progress or not todo,
               desc=f"{folder}", file=sys.stderr, dynamic_ncols=True)
    by_stem = {t.stem: t for t in todo}

    def finish(task: Task, result: dict[str, Any] | None, error: BaseException | None) -> None:
        bar.update(len(task.frames))
        if error is not None:
            report.failed[task.stem] = str(error) if isinstance(error, RegtrackError) else \
                f"{type(error).__name__}: {error}"
            return
        assert result is not None
        write_result(out / Path(task.stem).parent, Path(task.stem).name, result["boxes"], result["times"])
        report.done.append(task.stem)
        report.frames += len(task.frames)
        report.seconds += float(np.sum(result["times"]))
        if result["frame_errors"]:
            report.frame_errors[task.stem] = result["frame_errors"]
            report.first_frame_error[task.stem] = result["first_error"]

    try:
        if ray_address:
            _run_ray(tracker, params, todo, ray_address, finish)
        elif workers > 1 and len(todo) > 1:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")  # safe with torch/OpenCV threads in the parent
            pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                                       initializer=_worker_init, initargs=(os.getpid(),))
            pending = {pool.submit(run_task, tracker, params, t): t.stem for t in todo}
            interrupted = _catch_interrupt()
            try:
                while pending:
                    finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        stem = pending.pop(fut)
                        err = fut.exception()
                        finish(by_stem[stem], None if err else fut.result(), err)
                    if interrupted.is_set():
                        raise KeyboardInterrupt
            except BaseException:
                # Ctrl-C (or an error writing): keep every run that has finished, then stop the
                # workers at once instead of waiting for the sequences they are on.
                for fut, stem in list(pending.items()):
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        finish(by_stem[stem], fut.result(), None)
                _stop_workers(pool)
                raise
            finally:
                _catch_interrupt(restore=True)
            pool.shutdown()
        else:
            for t in todo:
                try:
                    res = run_task(tracker, params, t)
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # noqa: BLE001 - reported per sequence
                    finish(t, None, err)
                    continue
                finish(t, res, None)
    finally:
        bar.close()
    return report


def _run_ray(tracker: str, params: dict[str, Any], todo: list[Task], address: str,
             finish: Callable[[Task, dict[str, Any] | None, BaseException | None], None]) -> None:
    try:
        import ray
    except ImportError:
        raise RegtrackError("--ray needs Ray", fix='pip install "regtrack[ray]"') from None
    if not ray.is_initialized():
        if address in ("local", "new"):
            ray.init(num_cpus=max(os.cpu_count() or 1, 1), include_dashboard=False, log_to_driver=False)
        else:
            try:
                ray.init(address=address, log_to_driver=False)
            except Exception as err:  # noqa: BLE001
                raise RegtrackError(f"cannot join the Ray cluster at {address!r} ({err})",
                                    fix="start it with 'ray start --head', or use --ray local") from None
    remote = ray.remote(num_cpus=1)(run_task)
    refs = {remote.remote(tracker, params, t): t for t in todo}
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        for r in ready:
            t = refs.pop(r)
            try:
                finish(t, ray.get(r), None)
            except ray.exceptions.RayTaskError as err:
                cause = err.cause if getattr(err, "cause", None) is not None else err
                finish(t, None, cause)


def evaluate_runs(out_dir: str | Path, dataset: Dataset, invalid: str = "matlab") -> dict[str, Any]:
    """Score a TRE/SRE output folder (``OUT/TRACKER_TRE``): per sequence the frames of all runs are
    pooled (``genPerfMat.m``), then sequences are averaged as for OPE.
    Returns ``{"auc", "precision", "norm_precision", "sequences", "per_sequence"}``."""
    from regtrack.evaluation.report import evaluate_tracker

    e = evaluate_tracker(out_dir, dataset, invalid=invalid, min_fraction=0.0,  # type: ignore[arg-type]
                         eval_type="tre")
    o = e.overall
    return {"auc": o.auc, "precision": o.precision, "norm_precision": o.norm_precision,
            "sequences": o.n_sequences,
            "per_sequence": {n: {"auc": s.auc, "precision": s.precision} for n, s in o.per_sequence.items()}}
