"""Headless Chromium for the browser tests (Selenium driving Debian's ``chromium`` +
``chromium-driver``; ``.ci/run`` installs them). Nothing is downloaded: the browser and its driver
must be on this machine, and the tests skip, saying why, only where they are not
(``REGTRACK_CHROMIUM`` / ``REGTRACK_CHROMEDRIVER`` name other executables)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_paths() -> tuple[str, str]:
    """(browser, driver) executables, or a pytest skip naming what is missing."""
    browser = next((p for p in map(shutil.which, [os.environ.get("REGTRACK_CHROMIUM", ""), *CHROMIUM_NAMES])
                    if p), None)
    driver = shutil.which(os.environ.get("REGTRACK_CHROMEDRIVER", "chromedriver"))
    if not browser or not driver:
        pytest.skip("no headless Chromium here (apt-get install chromium chromium-driver, as .ci/run does; "
                    f"browser: {browser or 'missing'}, driver: {driver or 'missing'})")
    return browser, driver


def start_chromium(download_dir: Path | None = None) -> Any:
    """A headless Chromium WebDriver that records the console (``driver.get_log('browser')``)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1000,1000", "--hide-scrollbars", "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if download_dir is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(download_dir)})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_in_thread(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free local port in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def save_small_png(png: bytes, path: Path, width: int = 800) -> Path:
    """A screenshot for the README: at most ``width`` wide and 256 colours, so it stays small."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
