"""``regtrack report --html DIR``: the page for the 8 published trackers on OTB-100 opens from disk
in headless Chromium with no console error, shows the JSON report's numbers, every plot, each
sequence's attribute flags, and its per-sequence table sorts by any column; ``--videos`` adds
a clip per sequence with every tracker's box."""

from __future__ import annotations

import json

import pytest
from browser import console_errors, start_chromium

from regtrack.cli import main


@pytest.fixture(scope="module")
def report(shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    rc = main(["report", str(shared / "data/results/OTB100"), "--annotations",
               str(shared / "data/annotations/OTB100.json"), "--html", str(out / "page"),
               "--json", str(out / "report.json"), "--no-plots"])
    assert rc == 0
    return out / "page" / "index.html", json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def driver():
    d = start_chromium()
    yield d
    d.quit()


def cells(driver, table_id):
    return driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)]"
        ".map(r => [...r.cells].map(c => c.textContent))", table_id)


def header(driver, table_id):
    return driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} thead th`)].map(c => c.textContent)",
        table_id)


def test_the_page_holds_the_json_numbers_without_a_browser(report):
    """The embedded data is the JSON report itself (NaN-free); the template's placeholders are gone."""
    page, expected = report
    text = page.read_text()
    assert "{{" not in text and "$" not in text.split("<script")[0]
    raw = text.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(raw)
    assert data["trackers"] == json.loads(json.dumps(expected))
    assert data["ranked"][0] == "TADT" and len(data["sequences"]) == 100
    for entry in data["plots"].values():  # overall + the 11 attributes, both kinds, files beside the page
        assert all((page.parent / p).is_file() for p in entry.values())
    assert len(data["plots"]) == 12


@pytest.mark.slow
def test_the_page_opens_from_disk_shows_everything_and_sorts(report, driver):
    page, expected = report
    driver.get(page.as_uri())
    assert console_errors(driver) == []
    assert driver.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert driver.execute_script("return document.images.length") == 2 + 22  # overall, then per attribute

    # the ranked table: the JSON report's numbers, best AUC first
    ranking = cells(driver, "ranking")
    assert [r[1] for r in ranking] == sorted(expected, key=lambda t: -expected[t]["auc"])
    for _, name, auc, prec, norm, op50, n in ranking:
        e = expected[name]
        assert (auc, prec, norm, op50, n) == (f"{e['auc']:.3f}", f"{e['precision']:.3f}",
                                              f"{e['norm_precision']:.3f}", f"{e['success_rate']:.3f}",
                                              str(e["sequences"]))
    # per attribute: counts and AUCs
    for row in cells(driver, "attributes-auc"):
        code = row[0].split(" ")[0]
        assert row[1] == str(expected["HCF"]["per_attribute"][code]["sequences"])
        order = [r[1] for r in ranking]
        assert row[2:] == [f"{expected[t]['per_attribute'][code]['auc']:.3f}" for t in order]

    # per sequence: 100 rows, attribute flags that add up to the attribute counts, every score
    head = header(driver, "sequences")
    rows = cells(driver, "sequences")
    assert len(rows) == 100
    for code, spec in expected["HCF"]["per_attribute"].items():
        column = head.index(code)
        assert sum(r[column] != "" for r in rows) == spec["sequences"], code
    column = head.index("TADT AUC")
    row = next(r for r in rows if r[0] == "Tiger1")
    assert row[column] == f"{expected['TADT']['per_sequence']['Tiger1']['auc']:.3f}"

    # sorting: a score column best first, then reversed; the name column alphabetically
    def click(name):
        driver.execute_script("[...document.querySelectorAll('#sequences thead th')]"
                              ".find(c => c.textContent === arguments[0]).click()", name)
        return cells(driver, "sequences")

    tadt = [float(r[column]) for r in click("TADT AUC")]
    assert tadt == sorted(tadt, reverse=True) and tadt != sorted(tadt)
    assert [float(r[column]) for r in click("TADT AUC")] == sorted(tadt)
    names = [r[0] for r in click("sequence")]
    assert names == sorted(names, key=str.lower)
    flags = [r[head.index("OV")] for r in click("OV")]
    assert flags == sorted(flags, reverse=True) and flags[13] != "" and flags[14] == ""  # the 14 OV first
    assert console_errors(driver) == []


@pytest.mark.slow
def test_videos_add_a_clip_per_sequence(shared, tmp_path, driver):
    from PIL import Image

    out = tmp_path / "page"
    res = shared / "data/results/OTB100"
    rc = main(["report", str(res / "KCF"), str(res / "TADT"), "--annotations",
               str(shared / "data/annotations/OTB100.json"), "--root", str(shared / "data/otb"),
               "--sequences", "Crossing,Skiing", "--html", str(out), "--videos", "--video-frames", "12"])
    assert rc == 0
    for name in ("Crossing", "Skiing"):
        clip = Image.open(out / "clips" / f"{name}.webp")
        assert clip.n_frames == 12 and clip.width <= 320
    driver.get((out / "index.html").as_uri())
    assert driver.execute_script("return document.getElementById('clips-section').hidden") is False
    driver.execute_script("document.getElementById('clips').scrollIntoView()")  # the clips load lazily
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#clips img')].map(i => i.complete && i.naturalWidth > 0)")
        == [True, True], "both clips load")
    legend = driver.execute_script("return document.getElementById('clips-legend').textContent")
    assert "TADT" in legend and "KCF" in legend and "ground truth" in legend
    assert console_errors(driver) == []


def test_videos_need_html_and_frames(shared, tmp_path, capsys):
    res = shared / "data/results/OTB100"
    anno = str(shared / "data/annotations/OTB100.json")
    assert main(["report", str(res / "KCF"), "--annotations", anno, "--no-plots", "--videos"]) == 2
    assert "--videos goes with --html" in capsys.readouterr().err
    assert main(["report", str(res / "KCF"), "--annotations", anno, "--no-plots", "--html", str(tmp_path),
                 "--videos"]) == 2
    assert "no frames on disk" in capsys.readouterr().err
