"""What ``regtrack serve`` costs per tracked frame: ``udt`` on a 500-frame OTB sequence run three
ways, interleaved round by round so that a busy machine slows each alike:

* ``loop``: :func:`regtrack.tracking.track_many` in this process, nothing else (``regtrack track``
  without ``--out``);
* ``server``: a ``regtrack serve`` session (uvicorn in this process, as the command runs it),
  started through the API and left alone;
* ``page``: the same, with the real page open in headless Chromium watching it: the page polls
  the status and fetches the newest annotated frame as JPEG about ten times a second.

Per run, from the first frame to the last (so without the one-off ``init``, session set-up or the
final scoring): the tracker's own time per frame (``update`` only), the loop's wall time per frame
(reading the frame, the update, and whatever the server took from them), and this process's CPU
time per frame (the tracker, the server and its answers to the page; not the browser's, another
process). The overhead is each median against the plain loop's. On a
shared, loaded machine the wall times swing by tens of percent from run to run; the CPU time is
the steadier measure of what the server itself adds. Frames are read from disk in every mode.

    nice python benchmarks/bench_serve.py                       # Girl (500 frames), 3 rounds
    nice python benchmarks/bench_serve.py --sequence Walking2 --rounds 5

Needs ``pip install -e ".[dev]"`` (FastAPI, uvicorn, Selenium) and Debian's chromium +
chromium-driver. Results: ``benchmarks/RESULTS_serve.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED  # noqa: E402

STAMPS: dict[str, list[tuple[float, float]]] = {}  # run -> (wall, process CPU) after each frame


def stamp(run: str) -> None:
    STAMPS.setdefault(run, []).append((time.perf_counter(), time.process_time()))


def paced(run: str) -> dict[str, float]:
    """Wall and CPU (this process: tracker and server, not the browser) per frame, from the first
    frame to the last: the loop's pace, without the one-off init, session set-up or scoring."""
    (w0, c0), (w1, c1) = STAMPS[run][0], STAMPS[run][-1]
    n = len(STAMPS[run]) - 1
    return {"wall_ms": 1000 * (w1 - w0) / n, "cpu_ms": 1000 * (c1 - c0) / n}


def instrument_sessions() -> None:
    """Stamp every frame a server session tracks (in its own thread, as the server runs it)."""
    from regtrack.web.app import Session

    on_frame = Session._on_frame

    def stamped(self: Session, t: object) -> None:
        on_frame(self, t)
        stamp(self.id)

    Session._on_frame = stamped


def run_loop(folder: Path, box: list[float]) -> dict[str, float]:
    from regtrack.datasets.sources import open_source
    from regtrack.trackers.base import create_tracker
    from regtrack.tracking import track_many

    run = f"loop{len(STAMPS)}"
    out = track_many({"udt": create_tracker("udt")}, open_source(folder), box, on_frame=lambda t: stamp(run))
    times = out["udt"][1]
    return {"frames": len(times), "tracker_ms": 1000 * float(times[1:].mean()), **paced(run)}


def call(url: str, data: bytes | None = None, json_body: dict | None = None) -> dict:
    headers = {}
    if json_body is not None:
        data, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as r:
        return json.loads(r.read())


def from_status(s: dict) -> dict[str, float]:
    return {"frames": s["tracked"], "tracker_ms": 1000 / s["fps"]["udt"], **paced(s["id"])}


def run_server(base: str, folder: Path, box: list[float]) -> dict[str, float]:
    import urllib.parse

    s = call(base + "/api/sessions", data=urllib.parse.urlencode({"path": str(folder)}).encode())
    call(f"{base}/api/sessions/{s['id']}/start", json_body={"box": box, "trackers": [{"name": "udt"}]})
    while (s := call(f"{base}/api/sessions/{s['id']}/status"))["state"] not in ("done", "error", "stopped"):
        time.sleep(1.0)
    assert s["state"] == "done", s
    return from_status(s)


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and all its descendants (Linux ``/proc``)."""
    import os

    parent, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parent[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [p for p, pp in parent.items() if pp == pid]
    return total


def run_page(driver, base: str, folder: Path, box: list[float]) -> dict[str, float]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser_cpu = tree_cpu_seconds(driver.service.process.pid)
    driver.get(base + "/")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=tracker]"))
    driver.find_element(By.ID, "path").send_keys(str(folder))
    driver.find_element(By.ID, "open-path").click()
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.body.dataset.state")
                                    == "ready")
    # the box as the mouse would leave it (the browser tests drag it for real)
    driver.execute_script("box = arguments[0]; document.getElementById('start').disabled = false;", box)
    driver.find_element(By.ID, "start").click()
    WebDriverWait(driver, 600, poll_frequency=1.0).until(
        lambda d: d.execute_script("return document.body.dataset.state") in ("done", "error", "stopped"))
    sid = driver.execute_script("return session.id")
    s = call(f"{base}/api/sessions/{sid}/status")
    assert s["state"] == "done", s
    served = driver.execute_script("return performance.getEntriesByType('resource')"
                                   ".filter(e => e.name.includes('/live.jpg')).length")
    browser_ms = 1000 * (tree_cpu_seconds(driver.service.process.pid) - browser_cpu) / s["tracked"]
    return {**from_status(s), "frames_shown": served, "browser_cpu_ms": browser_ms}


REPLAY = """
import http.client, sys
host, port, sid, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection(host, port)  # one kept-alive connection, as a browser keeps one
for _ in range(n):
    for path in ("status", "live.jpg"):
        conn.request("GET", f"/api/sessions/{sid}/{path}")
        conn.getresponse().read()
"""


def server_cpu_per_poll(base: str, folder: Path, box: list[float], n: int = 500) -> float:
    """The server's own CPU per page poll (a status and a live frame, what app.js asks ~10 times a
    second), measured directly: ``n`` polls replayed by another process against a finished session
    while nothing else runs in this one. Milliseconds."""
    import subprocess
    import urllib.parse

    s = call(base + "/api/sessions", data=urllib.parse.urlencode({"path": str(folder)}).encode())
    call(f"{base}/api/sessions/{s['id']}/start", json_body={"box": box, "trackers": [{"name": "static"}]})
    while call(f"{base}/api/sessions/{s['id']}/status")["state"] != "done":
        time.sleep(0.2)
    host, port = base.split("//")[1].split(":")
    cpu = time.process_time()
    subprocess.run([sys.executable, "-c", REPLAY, host, port, s["id"], str(n)], check=True)
    return 1000 * (time.process_time() - cpu) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequence", default="Girl",
                        help="an OTB folder in ../shared/data/otb (default Girl, 500 frames)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from regtrack.datasets.base import read_boxes
    from regtrack.web.app import create_app

    instrument_sessions()
    folder = SHARED / "data" / "otb" / args.sequence
    box = [float(v) for v in read_boxes(folder / "groundtruth_rect.txt")[0]]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=8765, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = "http://127.0.0.1:8765"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1000,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)

    run_loop(folder, box)  # warm-up: compiled kernels, the weights cache, the page cache of the frames
    results: dict[str, list[dict[str, float]]] = {"loop": [], "server": [], "page": []}
    try:
        for r in range(args.rounds):
            for mode in results:
                if mode == "loop":
                    res = run_loop(folder, box)
                elif mode == "server":
                    res = run_server(base, folder, box)
                else:
                    res = run_page(driver, base, folder, box)
                results[mode].append(res)
                print(f"round {r + 1} {mode:6s}: " + ", ".join(f"{k} {v:.2f}" for k, v in res.items()),
                      flush=True)
        poll_ms = server_cpu_per_poll(base, folder, box)
    finally:
        driver.quit()
        server.should_exit = True

    def median(mode: str, key: str) -> float:
        return statistics.median(x[key] for x in results[mode])

    print(f"\n{args.sequence}, udt, {args.rounds} rounds (medians)")
    print("| mode | frames | tracker ms/frame | wall ms/frame | wall vs loop | CPU ms/frame | CPU vs loop |")
    print("|---|---|---|---|---|---|---|")
    for mode, runs in results.items():
        wall, cpu = median(mode, "wall_ms"), median(mode, "cpu_ms")
        print(f"| {mode} | {runs[0]['frames']:.0f} | {median(mode, 'tracker_ms'):.2f} | {wall:.2f} | "
              f"{100 * (wall / median('loop', 'wall_ms') - 1):+.1f} % | {cpu:.2f} | "
              f"{100 * (cpu / median('loop', 'cpu_ms') - 1):+.1f} % |")
    print(f"(the page showed {median('page', 'frames_shown'):.0f} live frames per run; the browser itself "
          f"took {median('page', 'browser_cpu_ms'):.2f} ms CPU per tracked frame, page load included)")
    polls_per_frame = median("page", "frames_shown") / median("page", "frames")
    own = poll_ms * polls_per_frame
    print(f"server's own CPU per poll (status + live frame, replayed): {poll_ms:.2f} ms; x "
          f"{polls_per_frame:.3f} polls per tracked frame = {own:.2f} ms per tracked frame = "
          f"{100 * own / median('loop', 'tracker_ms'):.1f} % of udt's {median('loop', 'tracker_ms'):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
