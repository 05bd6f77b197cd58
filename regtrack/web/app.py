"""``regtrack serve``: a local web page to open a video, drag the target's box on its first frame,
and watch one or several trackers follow it.

Conventions: frames are ``H x W x 3`` uint8 RGB; boxes are OTB ``[x, y, w, h]`` (1-based pixels,
:mod:`regtrack.core.box`), in the page as in the files it downloads; frame indices in URLs are
0-based. The tracking itself is :func:`regtrack.tracking.track_many`, the loop ``regtrack track``
runs, and each frame the page shows is drawn by :func:`regtrack.tracking.overlay`, the picture
``regtrack track --out`` writes.

Each browser tab opens its own :class:`Session` under a random id; its source, boxes and tracking
thread are its own, so tabs never mix. The tracking thread keeps only the boxes and a reference to
the newest frame: a frame is JPEG-encoded only when the page asks for it (at most ~10 times a
second), and the annotated video only when it is downloaded, so watching costs the tracker
little (``benchmarks/bench_serve.py``).

Errors a user can fix (an unreadable video, a zero-size box, a wrong weights file) come back as
``{"error": one line}`` with status 400, or as the session's ``error`` while it tracks; the server
keeps serving. Files: the page's own static files, and the frames and outputs of what the user
opened, nothing else (uploads are kept in a temporary folder removed at exit).

API (all under ``/api``): ``GET trackers``; ``POST sessions`` (form: ``path`` = a video, an image
folder or a camera index on this machine, or uploaded ``files``); per session ``GET status``,
``GET frame/{i}.jpg``, ``GET live.jpg``, ``POST start`` (JSON ``{box, trackers: [{name, weights}]}``),
``POST pause|resume|stop``, ``GET boxes/{tracker}.txt``, ``GET video.mp4``, ``GET plot/{success|
precision}.png``, ``DELETE`` (the page closed).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from regtrack.datasets.sources import IMAGE_EXTENSIONS, FrameSource, ImageFolderSource, open_source
from regtrack.errors import RegtrackError
from regtrack.tracking import TrackedFrame, overlay, track_many
from regtrack.viz.overlay import PALETTE

STATIC = Path(__file__).with_name("static")
JPEG_QUALITY = 85
_SAFE_NAME = re.compile(r"^[\w][\w .()+-]*$")


def _jpeg(frame: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB frame
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def one_line(err: BaseException) -> str:
    """What the page shows for an error: a :class:`RegtrackError` as it is, anything else as its
    type and message (still one line: a tracker bug must not take the page down)."""
    text = str(err) if isinstance(err, RegtrackError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split()) or type(err).__name__


class Session:
    """One opened source and, once started, its trackers' run (see the module docstring)."""

    def __init__(self, sid: str, source: FrameSource, label: str, gt: np.ndarray | None,
                 workdir: Path) -> None:
        self.id = sid
        self.source = source
        self.label = label
        self.gt = gt
        self.workdir = workdir
        self.is_camera = source.num_frames is None
        self._frames = iter(source)  # kept open: a camera's first frame is the one the box is drawn on
        try:
            self.first = next(self._frames)
        except StopIteration:
            raise RegtrackError("no frame could be read", path=label,
                                fix="check the video plays, or give a folder of images") from None
        self.state = "ready"  # ready -> running <-> paused -> done | stopped | error
        self.error: str | None = None
        self.names: list[str] = []
        self.boxes: list[dict[str, np.ndarray]] = []  # one entry per tracked frame
        self.fps: dict[str, float] = {}
        self.latest: TrackedFrame | None = None
        self.camera_jpegs: list[bytes] = []  # a camera cannot be read again: its frames are kept
        self.scores: dict[str, dict[str, float]] = {}
        self.frame_times: list[float] = []  # wall clock after each frame: the whole loop's pace
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- frames ---------------------------------------------------------------------------------
    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` (0-based) of the source, read again where it is not the newest one."""
        latest = self.latest
        if latest is not None and latest.index == i:
            return latest.frame
        if i == 0:
            return self.first
        if self.is_camera:
            return cv2.cvtColor(cv2.imdecode(np.frombuffer(self.camera_jpegs[i], np.uint8), cv2.IMREAD_COLOR),
                                cv2.COLOR_BGR2RGB)
        if isinstance(self.source, ImageFolderSource):
            from regtrack.datasets.sources import read_image

            return read_image(self.source.paths[i])
        cap = cv2.VideoCapture(str(self.source.source))  # a video file: seek to the frame
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, bgr = cap.read()
        finally:
            cap.release()
        if not ok:
            raise RegtrackError(f"frame {i + 1} cannot be read again", path=self.label)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def tracked_frames(self) -> Iterator[np.ndarray]:
        """The tracked frames again, in order (for the annotated video)."""
        n = len(self.boxes)
        if self.is_camera:
            yield from (self.frame(i) for i in range(n))
        else:
            yield from itertools.islice(self.source, n)

    def annotated(self, i: int) -> np.ndarray:
        """Frame ``i`` as the page shows it: every tracker's box, the ground truth, the number."""
        if i >= len(self.boxes):
            return self.first if i == 0 else self.frame(i)
        latest = self.latest
        fps = self.fps if latest is not None and latest.index == i else None
        return overlay(self.frame(i), i, self.boxes[i], self.gt, fps)

    # -- tracking -------------------------------------------------------------------------------
    def start(self, box: list[float], trackers: list[dict[str, Any]]) -> None:
        """Validate the box, build the trackers (a wrong weights file fails here, at once) and
        start tracking in a thread."""
        from regtrack.core.box import check_init_box
        from regtrack.trackers.base import create_tracker, tracker_class

        with self._lock:
            if self.state != "ready":
                raise RegtrackError(f"this session is {self.state}; open the video again to track anew")
            start_box = check_init_box(box, self.first.shape, source="the drawn box")
            if not trackers:
                raise RegtrackError("no tracker chosen", fix="tick at least one tracker")
            built: dict[str, Any] = {}
            for spec in trackers:
                name = str(spec.get("name", ""))
                weights = str(spec.get("weights") or "").strip()
                params: dict[str, Any] = {}
                if weights:
                    fields = {f.name for f in dataclasses.fields(tracker_class(name).Params)}
                    if "weights" not in fields:
                        raise RegtrackError(f"tracker {name} takes no weights file",
                                            fix="leave its weights field empty")
                    params["weights"] = weights
                key = name if name not in built else f"{name}#{len(built) + 1}"
                built[key] = create_tracker(name, params)
            self.names = list(built)
            self.state = "running"
            self._thread = threading.Thread(target=self._run, args=(built, start_box), daemon=True,
                                            name=f"regtrack-session-{self.id[:6]}")
            self._thread.start()

    def _on_frame(self, t: TrackedFrame) -> None:
        self.frame_times.append(time.perf_counter())
        self.boxes.append(t.boxes)
        self.fps = t.fps
        self.latest = t
        if self.is_camera:
            self.camera_jpegs.append(_jpeg(t.frame))
        while not self._resume.wait(0.1):  # paused: hold the loop between frames
            if self._stop.is_set():
                break

    def _run(self, trackers: dict[str, Any], box: np.ndarray) -> None:
        try:
            track_many(trackers, itertools.chain([self.first], self._frames), box, self._on_frame,
                       stop=self._stop.is_set)
            self._score()
            self.state = "stopped" if self._stop.is_set() else "done"
        except Exception as err:  # noqa: BLE001 - any failure becomes the page's one line
            self.error = one_line(err)
            self.state = "error"
        finally:
            self._close_source()

    def _close_source(self) -> None:
        """Release the video file or camera (a generator closed in the thread that runs it)."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()

    def _score(self) -> None:
        """AUC and precision per tracker, and the plots, when the ground truth covers every frame."""
        if self.gt is None or len(self.boxes) != len(self.gt) or len(self.boxes) < 2:
            return
        from regtrack.datasets.base import Dataset, Sequence
        from regtrack.evaluation.metrics import aggregate, evaluate_sequence
        from regtrack.evaluation.plots import draw_plots
        from regtrack.evaluation.report import TrackerEvaluation

        evals = []
        for name in self.names:
            s = evaluate_sequence(self.boxes_of(name), self.gt, name=self.source.name)
            self.scores[name] = {"auc": s.auc, "precision": s.precision}
            evals.append(TrackerEvaluation(name, aggregate([s])))
        seq = Sequence(self.source.name, [self.workdir / f"{i}.jpg" for i in range(len(self.gt))], self.gt)
        draw_plots(evals, Dataset(self.source.name, {seq.name: seq}), self.workdir / "plots",
                   attributes=False, formats=("png",))

    def wall_fps(self) -> float:
        """Frames per second of the whole loop after the first frame: reading the source, every
        tracker's update, and whatever serving the page took from them (``fps`` is updates only)."""
        t = self.frame_times
        return (len(t) - 1) / max(t[-1] - t[0], 1e-9) if len(t) > 1 else 0.0

    def boxes_of(self, name: str) -> np.ndarray:
        return np.array([b[name] for b in self.boxes]).reshape(-1, 4)

    def pause(self) -> None:
        if self.state == "running":
            self._resume.clear()
            self.state = "paused"

    def resume(self) -> None:
        if self.state == "paused":
            self.state = "running"
            self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()
        with self._lock:  # not while start() is building the trackers
            if self._thread is None and self.state == "ready":
                self.state = "stopped"
                self._close_source()

    def status(self) -> dict[str, Any]:
        latest = self.latest
        names = self.names + (["ground truth"] if self.gt is not None else [])
        return {
            "id": self.id, "name": self.source.name, "state": self.state, "error": self.error,
            "total": self.source.num_frames, "tracked": len(self.boxes),
            "latest": latest.index if latest is not None else None,
            "width": int(self.first.shape[1]), "height": int(self.first.shape[0]),
            "has_gt": self.gt is not None,
            "colours": {n: "#{:02x}{:02x}{:02x}".format(*PALETTE[i % len(PALETTE)])
                        for i, n in enumerate(names)},
            "fps": self.fps, "scores": self.scores, "wall_fps": self.wall_fps(),
            "boxes": {n: [float(v) for v in b] for n, b in latest.boxes.items()} if latest else {},
        }

    def video(self) -> Path:
        """The annotated video of the tracked frames (written once, when first asked for)."""
        from regtrack.viz.overlay import VideoWriter

        path = self.workdir / f"{self.source.name}_tracked.mp4"
        if not path.is_file():
            tmp = path.with_name(f".{path.stem}.tmp.mp4")
            with VideoWriter(tmp, self.source.fps) as writer:
                for i, frame in enumerate(self.tracked_frames()):
                    writer.write(overlay(frame, i, self.boxes[i], self.gt))
            tmp.replace(path)
        return path


class StartRequest(BaseModel):
    box: list[float]
    trackers: list[dict[str, Any]]


def _save_uploads(files: list[UploadFile], folder: Path) -> Path:
    """Store uploaded files flat in ``folder``: one video, or the images of a folder (plus its
    ``groundtruth_rect.txt``). Returns the path to open."""
    from regtrack.commands.track import GROUNDTRUTH_NAMES

    folder.mkdir(parents=True)
    saved = []
    for f in files:
        name = Path((f.filename or "").replace("\\", "/")).name
        if not name or not _SAFE_NAME.match(name):
            raise RegtrackError(f"cannot take an uploaded file named {f.filename!r}",
                                fix="rename it with letters, digits, '.', '-' or '_'")
        is_image = Path(name).suffix.lower() in IMAGE_EXTENSIONS
        if len(files) > 1 and not is_image and name not in GROUNDTRUTH_NAMES:
            continue  # a folder upload: skip what is neither a frame nor its ground truth
        with open(folder / name, "wb") as out:
            shutil.copyfileobj(f.file, out)
        saved.append(folder / name)
    if not saved:
        raise RegtrackError("no video or image among the uploaded files",
                            fix="upload a video file, or a folder of jpg/png frames")
    images = [p for p in saved if p.suffix.lower() in IMAGE_EXTENSIONS]
    return folder if images and (len(saved) > 1 or len(images) > 1) else saved[0]


def create_app() -> FastAPI:
    """The ``regtrack serve`` application (uploads live in a temporary folder removed at shutdown)."""
    from contextlib import asynccontextmanager

    sessions: dict[str, Session] = {}
    tmp = tempfile.TemporaryDirectory(prefix="regtrack-serve-")
    root = Path(tmp.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        for s in sessions.values():
            s.stop()
        tmp.cleanup()

    app = FastAPI(title="regtrack", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RegtrackError)
    async def user_error(request: Request, err: RegtrackError) -> JSONResponse:
        return JSONResponse({"error": one_line(err)}, status_code=400)

    def session(sid: str) -> Session:
        s = sessions.get(sid)
        if s is None:
            raise HTTPException(404, "no such session (the server was restarted?): open the video again")
        return s

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/trackers")
    def trackers() -> list[dict[str, Any]]:
        from regtrack.commands.track import DEFAULT_TRACKER
        from regtrack.trackers.base import available_trackers, tracker_class

        out = []
        for name in available_trackers():
            fields = {f.name: f for f in dataclasses.fields(tracker_class(name).Params)}
            out.append({"name": name, "weights": "weights" in fields, "default": name == DEFAULT_TRACKER})
        return out

    @app.post("/api/sessions")
    def open_session(path: Annotated[str, Form()] = "",
                     files: Annotated[list[UploadFile] | None, File()] = None) -> dict[str, Any]:
        from regtrack.commands.track import find_groundtruth
        from regtrack.datasets.base import read_boxes

        sid = secrets.token_urlsafe(12)
        workdir = root / sid
        workdir.mkdir()
        try:
            if files:
                target: str | Path = _save_uploads(files, workdir / "upload")
            elif path.strip():
                target = path.strip()
            else:
                raise RegtrackError("nothing to open", fix="give a path, upload a video or open a camera")
            source = open_source(target)
            gt_file = find_groundtruth(target)
            gt = read_boxes(gt_file) if gt_file is not None else None
            sessions[sid] = Session(sid, source, str(target), gt, workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return sessions[sid].status()

    @app.get("/api/sessions/{sid}/status")
    async def status(sid: str) -> JSONResponse:
        # asked ~10 times a second while tracking: answered on the event loop, without a worker
        # thread or response validation, so that watching takes little from the tracker
        return JSONResponse(session(sid).status())

    @app.get("/api/sessions/{sid}/frame/{i}.jpg")
    def frame(sid: str, i: int) -> Response:
        s = session(sid)
        if i < 0 or i >= max(len(s.boxes), 1):
            raise HTTPException(404, f"frame {i} is not tracked yet")
        return Response(_jpeg(s.annotated(i)), media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/api/sessions/{sid}/live.jpg")
    def live(sid: str) -> Response:
        s = session(sid)
        latest = s.latest
        i = latest.index if latest is not None else 0
        return Response(_jpeg(s.annotated(i)), media_type="image/jpeg",
                        headers={"Cache-Control": "no-store", "X-Frame-Index": str(i)})

    @app.post("/api/sessions/{sid}/start")
    def start(sid: str, body: StartRequest) -> dict[str, Any]:
        s = session(sid)
        s.start(body.box, body.trackers)
        return s.status()

    @app.post("/api/sessions/{sid}/{action}")
    def control(sid: str, action: str) -> dict[str, Any]:
        s = session(sid)
        if action not in ("pause", "resume", "stop"):
            raise HTTPException(404, f"unknown action {action}")
        getattr(s, action)()
        return s.status()

    @app.delete("/api/sessions/{sid}")
    def close(sid: str) -> dict[str, bool]:
        s = sessions.pop(sid, None)
        if s is not None:
            s.stop()
            shutil.rmtree(s.workdir, ignore_errors=True)
        return {"closed": s is not None}

    def finished(s: Session) -> None:
        if s.state not in ("done", "stopped") or not s.boxes:
            raise HTTPException(409, "the run has not finished yet")

    @app.get("/api/sessions/{sid}/boxes/{name}.txt")
    def boxes(sid: str, name: str) -> PlainTextResponse:
        from regtrack.evaluation.results import format_boxes

        s = session(sid)
        finished(s)
        if name not in s.names:
            raise HTTPException(404, f"no tracker {name} in this session")
        filename = f"{s.source.name}_{name.replace('#', '_')}.txt"
        return PlainTextResponse(format_boxes(s.boxes_of(name)),
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @app.get("/api/sessions/{sid}/video.mp4")
    def video(sid: str) -> FileResponse:
        s = session(sid)
        finished(s)
        path = s.video()
        return FileResponse(path, media_type="video/mp4", filename=path.name)

    @app.get("/api/sessions/{sid}/plot/{kind}.png")
    def plot(sid: str, kind: str) -> FileResponse:
        s = session(sid)
        path = s.workdir / "plots" / f"{kind}_overall.png"
        if kind not in ("success", "precision") or not path.is_file():
            raise HTTPException(404, "no plot (the run has no ground truth, or has not finished)")
        return FileResponse(path, media_type="image/png")

    app.state.sessions = sessions
    return app
