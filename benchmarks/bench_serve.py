"""What ``regtrack serve`` costs per tracked frame: ``udt`` on a 500-frame OTB sequence run three
ways, interleaved round by round so that a busy machine slows each alike:

* ``loop``: :func:`regtrack.tracking.track_many` in this process, nothing else (``regtrack track``
  without ``--out``);
* ``server``: a ``regtrack serve`` session (uvicorn in this process, as the command runs it),
  started through the API and left alone;
* ``page``: the same, with the real page open in headless Chromium watching it: the page polls
  the status and fetches the newest annotated frame as JPEG about ten times a second.

Per run: the tracker's own time per frame (``update`` only), the loop's wall time per frame (from
the first frame to the last: reading the frame, the update, and whatever the server took), and
this process's CPU time per frame (the tracker, the server and its answers to the page; not the
browser's, which is another process). The overhead is each median against the plain loop's. On a
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


def run_loop(folder: Path, box: list[float]) -> dict[str, float]:
    from regtrack.datasets.sources import open_source
    from regtrack.trackers.base import create_tracker
    from regtrack.tracking import track_many

    stamps: list[float] = []
    out = track_many({"udt": create_tracker("udt")}, open_source(folder), box,
                     on_frame=lambda t: stamps.append(time.perf_counter()))
    times = out["udt"][1]
    return {"frames": len(times), "tracker_ms": 1000 * float(times[1:].mean()),
            "wall_ms": 1000 * (stamps[-1] - stamps[0]) / (len(stamps) - 1)}


def call(url: str, data: bytes | None = None, json_body: dict | None = None) -> dict:
    headers = {}
    if json_body is not None:
        data, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as r:
        return json.loads(r.read())


def from_status(s: dict) -> dict[str, float]:
    return {"frames": s["tracked"], "tracker_ms": 1000 / s["fps"]["udt"], "wall_ms": 1000 / s["wall_fps"]}


def run_server(base: str, folder: Path, box: list[float]) -> dict[str, float]:
    import urllib.parse

    s = call(base + "/api/sessions", data=urllib.parse.urlencode({"path": str(folder)}).encode())
    call(f"{base}/api/sessions/{s['id']}/start", json_body={"box": box, "trackers": [{"name": "udt"}]})
    while (s := call(f"{base}/api/sessions/{s['id']}/status"))["state"] not in ("done", "error", "stopped"):
        time.sleep(1.0)
    assert s["state"] == "done", s
    return from_status(s)


def run_page(driver, base: str, folder: Path, box: list[float]) -> dict[str, float]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

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
    return {**from_status(s), "frames_shown": served}


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

    folder = SHARED / "data" / "otb" / args.sequence
    box = [float(v) for v in read_boxes(folder / "groundtruth_rect.txt")[0]]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=8765, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = "http://127.0.0.1:8765"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)

    run_loop(folder, box)  # warm-up: compiled kernels, the weights cache, the page cache of the frames
    results: dict[str, list[dict[str, float]]] = {"loop": [], "server": [], "page": []}
    try:
        for r in range(args.rounds):
            for mode in results:
                cpu = time.process_time()  # this process only: the server, not the browser
                if mode == "loop":
                    res = run_loop(folder, box)
                elif mode == "server":
                    res = run_server(base, folder, box)
                else:
                    res = run_page(driver, base, folder, box)
                res["cpu_ms"] = 1000 * (time.process_time() - cpu) / res["frames"]
                results[mode].append(res)
                print(f"round {r + 1} {mode:6s}: " + ", ".join(f"{k} {v:.2f}" for k, v in res.items()),
                      flush=True)
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
    shown = [x["frames_shown"] for x in results["page"]]
    print(f"(the page showed {statistics.median(shown):.0f} live frames per run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
