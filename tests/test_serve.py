"""The shared frame loop (:mod:`regtrack.tracking`) and the ``regtrack serve`` API without a
browser (FastAPI's test client): sessions, uploads, downloads, scores, pause/stop, and errors as
one line while the server keeps serving. The page itself is driven in test_serve_browser.py."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from regtrack.demo import synthetic_sequence
from regtrack.trackers.base import create_tracker
from regtrack.tracking import overlay, track_frames, track_many

pytest.importorskip("fastapi", reason="the web extra: pip install -e '.[web]'")


@pytest.fixture(scope="module")
def clip():
    n = 15
    centers = np.array([120.0, 100.0]) + np.arange(n)[:, None] * np.array([3.0, 1.5])
    return synthetic_sequence(centers, np.tile([44.0, 36.0], (n, 1)))


@pytest.fixture()
def folder(tmp_path, clip):
    frames, gt = clip
    seq = tmp_path / "Seq"
    (seq / "img").mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(seq / "img" / f"{i + 1:04d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (seq / "groundtruth_rect.txt").write_text("\n".join(",".join(f"{v:.2f}" for v in b) for b in gt))
    return seq


@pytest.fixture()
def client():
    from fastapi.testclient import TestClient

    from regtrack.web.app import create_app

    with TestClient(create_app()) as c:
        yield c


def wait_end(client, sid, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = client.get(f"/api/sessions/{sid}/status").json()
        if s["state"] in ("done", "stopped", "error"):
            return s
        time.sleep(0.05)
    raise AssertionError(f"session {sid} did not end: {s}")


def open_and_start(client, path, box, trackers):
    s = client.post("/api/sessions", data={"path": str(path)})
    assert s.status_code == 200, s.text
    sid = s.json()["id"]
    r = client.post(f"/api/sessions/{sid}/start", json={"box": list(map(float, box)), "trackers": trackers})
    assert r.status_code == 200, r.text
    return sid


# -- the shared loop -------------------------------------------------------------------------------
def test_track_many_runs_every_tracker_on_the_same_frames_and_stops_when_asked(clip):
    frames, gt = clip
    seen = []
    out = track_many({"static": create_tracker("static"), "kcf": create_tracker("kcf")}, frames, gt[0],
                     on_frame=lambda t: seen.append((t.index, sorted(t.boxes), t.fps["kcf"])))
    assert [s[0] for s in seen] == list(range(len(frames)))
    assert seen[0][2] == 0.0 and seen[-1][2] > 0  # the running fps counts updates, not init
    static_boxes, static_times = out["static"]
    assert static_boxes.shape == (len(frames), 4) and len(static_times) == len(frames)
    assert np.all(static_boxes == gt[0])
    assert np.abs(out["kcf"][0][:, :2] - gt[:, :2]).max() < 5  # kcf follows the moving target
    # track_frames is the same loop for one tracker; stop() ends it between frames
    single, _ = track_frames(create_tracker("kcf"), frames, gt[0])
    np.testing.assert_array_equal(single, out["kcf"][0])
    stopped = track_many({"static": create_tracker("static")}, frames, gt[0],
                         stop=lambda: len(seen) >= len(frames) + 4,
                         on_frame=lambda t: seen.append(t.index))
    assert len(stopped["static"][0]) == 4


def test_overlay_draws_each_tracker_and_the_ground_truth_in_its_colour(clip):
    from regtrack.viz.overlay import PALETTE

    frames, gt = clip
    blank = np.zeros_like(frames[0])
    pic = overlay(blank, 0, {"a": np.array([11, 101, 30, 30]), "b": np.array([61, 101, 30, 30])},
                  gt=np.array([[111, 101, 30, 30]]))

    def edge_colour(x):  # the middle of a box's left edge (drawn anti-aliased: the brightest pixel)
        column = pic[105:125, x - 1:x + 2].reshape(-1, 3).astype(int)
        return column[column.sum(1).argmax()]

    for x, colour in ((10, PALETTE[0]), (60, PALETTE[1]), (110, PALETTE[2])):  # a, b, then the ground truth
        assert np.abs(edge_colour(x) - colour).max() < 30, (x, edge_colour(x), colour)
    assert pic[6:30, 6:60].any()  # the frame number, top-left
    assert not np.any(blank)  # the input is left untouched


# -- the API ---------------------------------------------------------------------------------------
def test_a_session_tracks_scores_and_downloads(client, folder, clip, tmp_path):
    from regtrack.evaluation.results import read_result

    frames, gt = clip
    sid = open_and_start(client, folder, gt[0], [{"name": "kcf"}, {"name": "static"}])
    s = wait_end(client, sid)
    assert s["state"] == "done" and s["tracked"] == len(frames) and s["has_gt"]
    assert set(s["scores"]) == {"kcf", "static"} and s["scores"]["kcf"]["auc"] > s["scores"]["static"]["auc"]
    assert list(s["colours"]) == ["kcf", "static", "ground truth"]
    (tmp_path / "kcf.txt").write_text(client.get(f"/api/sessions/{sid}/boxes/kcf.txt").text)
    boxes = read_result(tmp_path / "kcf.txt")
    assert boxes.shape == (len(frames), 4) and np.abs(boxes[:, :2] - gt[:, :2]).max() < 5
    video = client.get(f"/api/sessions/{sid}/video.mp4")
    assert video.status_code == 200
    (tmp_path / "v.mp4").write_bytes(video.content)
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    cap.release()
    for i in (0, len(frames) - 1):
        jpg = client.get(f"/api/sessions/{sid}/frame/{i}.jpg")
        assert jpg.headers["content-type"] == "image/jpeg"
        assert cv2.imdecode(np.frombuffer(jpg.content, np.uint8), cv2.IMREAD_COLOR).shape == frames[0].shape
    assert client.get(f"/api/sessions/{sid}/frame/{len(frames)}.jpg").status_code == 404
    assert client.get(f"/api/sessions/{sid}/plot/success.png").content[:4] == b"\x89PNG"
    assert client.get(f"/api/sessions/{sid}/boxes/udt.txt").status_code == 404


def test_uploads_a_video_and_an_image_folder(client, folder, clip, tmp_path):
    from regtrack.viz.overlay import write_video

    frames, gt = clip
    write_video(tmp_path / "clip.avi", frames)
    with open(tmp_path / "clip.avi", "rb") as fh:
        s = client.post("/api/sessions", files=[("files", ("clip.avi", fh, "video/x-msvideo"))]).json()
    assert s["total"] == len(frames) and not s["has_gt"] and s["width"] == frames[0].shape[1]
    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in sorted((folder / "img").iterdir())]
    gt_file = folder / "groundtruth_rect.txt"
    files.append(("files", (gt_file.name, gt_file.read_bytes(), "text/plain")))
    s = client.post("/api/sessions", files=files).json()
    assert s["total"] == len(frames) and s["has_gt"]
    bad = client.post("/api/sessions", files=[("files", ("../../x.mp4", b"junk", "video/mp4"))])
    assert bad.status_code == 400 and "\n" not in bad.json()["error"]


def test_sessions_do_not_mix(client, folder, clip):
    frames, gt = clip
    a = open_and_start(client, folder, gt[0], [{"name": "static"}])
    b = open_and_start(client, folder, gt[0] + [0, 0, 10, 10], [{"name": "static"}])
    wait_end(client, a), wait_end(client, b)
    ta = client.get(f"/api/sessions/{a}/boxes/static.txt").text.splitlines()
    tb = client.get(f"/api/sessions/{b}/boxes/static.txt").text.splitlines()
    assert len(ta) == len(tb) == len(frames) and ta[0] != tb[0]
    assert client.delete(f"/api/sessions/{a}").json() == {"closed": True}
    assert client.get(f"/api/sessions/{a}/status").status_code == 404
    assert client.get(f"/api/sessions/{b}/status").json()["state"] == "done"


def test_pause_holds_and_stop_ends_a_run(client, folder, clip, monkeypatch):
    from regtrack.trackers.static import StaticTracker

    frames, gt = clip
    static_update = StaticTracker.update

    def slow_update(self, image):  # 50 ms a frame: the run lasts long enough to pause it
        time.sleep(0.05)
        return static_update(self, image)

    monkeypatch.setattr(StaticTracker, "update", slow_update)
    sid = open_and_start(client, folder, gt[0], [{"name": "static"}])
    assert client.post(f"/api/sessions/{sid}/pause").json()["state"] == "paused"
    time.sleep(0.2)  # the frame being tracked when pause came still finishes
    held = client.get(f"/api/sessions/{sid}/status").json()
    time.sleep(0.3)
    assert client.get(f"/api/sessions/{sid}/status").json()["tracked"] == held["tracked"] < len(frames)
    client.post(f"/api/sessions/{sid}/resume")
    time.sleep(0.2)
    assert client.get(f"/api/sessions/{sid}/status").json()["tracked"] > held["tracked"]
    client.post(f"/api/sessions/{sid}/stop")
    s = wait_end(client, sid)
    assert s["state"] == "stopped" and s["tracked"] < len(frames)
    assert client.get(f"/api/sessions/{sid}/boxes/static.txt").text.count("\n") == s["tracked"]


@pytest.mark.parametrize("box, trackers, expected", [
    ([10, 10, 0, 20], [{"name": "kcf"}], "zero or negative size"),
    ([10, 10, 20, 20], [{"name": "nosuch"}], "nosuch"),
    ([10, 10, 20, 20], [{"name": "kcf", "weights": "x.pth"}], "takes no weights file"),
    ([10, 10, 20, 20], [{"name": "udt", "weights": "/no/such/weights.pth"}], "/no/such/weights.pth"),
    ([10, 10, 20, 20], [], "no tracker chosen"),
])
def test_start_errors_are_one_line(client, folder, box, trackers, expected):
    sid = client.post("/api/sessions", data={"path": str(folder)}).json()["id"]
    r = client.post(f"/api/sessions/{sid}/start", json={"box": box, "trackers": trackers})
    assert r.status_code == 400 and expected in r.json()["error"] and "\n" not in r.json()["error"]
    assert client.get(f"/api/sessions/{sid}/status").json()["state"] == "ready"  # it can start again


def test_a_tracker_failing_mid_run_is_one_line_and_the_server_keeps_serving(client, folder, clip,
                                                                           monkeypatch):
    from regtrack.trackers.static import StaticTracker

    def broken(self, image):
        raise ValueError("numbers went\nwrong")

    frames, gt = clip
    monkeypatch.setattr(StaticTracker, "update", broken)
    sid = open_and_start(client, folder, gt[0], [{"name": "static"}])
    s = wait_end(client, sid)
    # the shared frame loop's one line: which tracker, which frame, what went wrong
    assert s["state"] == "error" and "\n" not in s["error"]
    assert s["error"].startswith("static failed on frame 2: ValueError: numbers went wrong")
    for path, expected in (("/no/such/clip.mp4", "no such file or folder"), ("", "nothing to open")):
        r = client.post("/api/sessions", data={"path": path})
        assert r.status_code == 400 and expected in r.json()["error"]
    monkeypatch.undo()
    assert wait_end(client, open_and_start(client, folder, gt[0], [{"name": "static"}]))["state"] == "done"


def test_serve_refuses_a_bad_port():
    from regtrack.cli import main

    assert main(["serve", "--port", "70000"]) == 2


def test_a_live_source_runs_until_stopped_and_keeps_its_frames(client, clip, monkeypatch):
    """A camera (a source without a frame count) tracks until Stop; its frames cannot be read
    again, so the session keeps them to seek back and to write the video."""
    import regtrack.web.app as web
    from regtrack.datasets.sources import FrameSource

    frames, gt = clip

    class FakeCamera(FrameSource):
        name, fps, num_frames = "camera0", 30.0, None

        def __iter__(self):
            for i in range(10_000):  # endless, as far as the page can tell
                time.sleep(0.01)
                yield frames[i % len(frames)]

    monkeypatch.setattr(web, "open_source", lambda target: FakeCamera())
    s = client.post("/api/sessions", data={"path": "0"}).json()
    assert s["total"] is None and not s["has_gt"]
    sid = s["id"]
    client.post(f"/api/sessions/{sid}/start", json={"box": list(gt[0]), "trackers": [{"name": "static"}]})
    deadline = time.monotonic() + 20
    while client.get(f"/api/sessions/{sid}/status").json()["tracked"] < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    client.post(f"/api/sessions/{sid}/stop")
    end = wait_end(client, sid)
    assert end["state"] == "stopped" and end["tracked"] >= 20
    jpg = client.get(f"/api/sessions/{sid}/frame/{len(frames) + 2}.jpg").content
    seen = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.abs(seen.astype(int) - frames[2]).mean() < 12  # that frame, as the camera gave it (JPEG)
    video = client.get(f"/api/sessions/{sid}/video.mp4")
    assert video.status_code == 200 and len(video.content) > 1000


def test_serves_only_its_page_and_what_was_opened(client):
    """No route reads a path from the request: files are the page's own, or a session's frames
    and results (a session id is 16 random characters)."""
    assert client.get("/").status_code == 200 and "regtrack" in client.get("/").text
    assert client.get("/static/app.js").status_code == 200
    for probe in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/etc/passwd",
                  "/api/sessions/nosuch/status", "/api/sessions/nosuch/frame/0.jpg"):
        assert client.get(probe).status_code == 404, probe
    paths = {r.path for r in client.app.routes}
    assert paths - {"/static", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"} == {
        "/", "/api/trackers", "/api/sessions", "/api/sessions/{sid}", "/api/sessions/{sid}/status",
        "/api/sessions/{sid}/frame/{i}.jpg", "/api/sessions/{sid}/live.jpg", "/api/sessions/{sid}/start",
        "/api/sessions/{sid}/{action}", "/api/sessions/{sid}/boxes/{name}.txt",
        "/api/sessions/{sid}/video.mp4", "/api/sessions/{sid}/plot/{kind}.png"}


@pytest.mark.slow
def test_a_weights_file_reaches_the_tracker(client, folder, clip, shared):
    """dcfnet has no weights of its own: without a file it is refused in one line, with the
    authors' DCFNet file it tracks."""
    frames, gt = clip
    sid = client.post("/api/sessions", data={"path": str(folder)}).json()["id"]
    r = client.post(f"/api/sessions/{sid}/start", json={"box": list(gt[0]), "trackers": [{"name": "dcfnet"}]})
    assert r.status_code == 400 and "needs a weights file" in r.json()["error"]
    weights = shared / "weights" / "dcfnet" / "DCFNet-net-7-125-2.mat"
    r = client.post(f"/api/sessions/{sid}/start",
                    json={"box": list(gt[0]), "trackers": [{"name": "dcfnet", "weights": str(weights)}]})
    assert r.status_code == 200, r.text
    s = wait_end(client, sid)
    assert s["state"] == "done" and s["scores"]["dcfnet"]["auc"] > 0.5
