"""``regtrack report``: the published OTB-100 numbers from the authors' raw results (the issue's
"Done when"), the JSON shape, the 11 attributes with their counts, plots, tables, bad folders."""

from __future__ import annotations

import json
import shutil

import pytest

from regtrack.cli import main

PUBLISHED = {  # issue 2: AUC / precision at 20 px over all 100 OTB-2015 targets, within 0.001
    "HCF": (0.562, 0.837), "CREST": (0.623, 0.838), "TADT": (0.660, 0.866), "UDT": (0.587, 0.760),
    "UDTplus": (0.623, 0.831), "KCF": (0.477, 0.696), "DSST": (0.513, 0.680), "SiamFC": (0.587, 0.772),
}
ATTRS = {"IV": 38, "SV": 64, "OCC": 49, "DEF": 44, "MB": 29, "FM": 39, "IPR": 51, "OPR": 63, "OV": 14,
         "BC": 31, "LR": 9}


@pytest.fixture(scope="module")
def report_json(shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out.json"
    rc = main(["report", str(shared / "data/results/OTB100"), "--annotations",
               str(shared / "data/annotations/OTB100.json"), "--json", str(out), "--no-plots"])
    assert rc == 0
    return json.loads(out.read_text())


def test_published_numbers(report_json):
    assert set(report_json) == set(PUBLISHED)
    for tracker, (auc, prec) in PUBLISHED.items():
        r = report_json[tracker]
        assert r["sequences"] == 100, tracker
        assert abs(r["auc"] - auc) <= 0.001, (tracker, r["auc"])
        assert abs(r["precision"] - prec) <= 0.001, (tracker, r["precision"])


def test_json_shape_and_attributes(report_json):
    r = report_json["HCF"]
    assert {"auc", "precision", "norm_precision", "sequences", "per_sequence", "per_attribute"} <= set(r)
    assert len(r["per_sequence"]) == 100 and set(r["per_sequence"]["Tiger1"]) >= {"auc", "precision"}
    assert {a: v["sequences"] for a, v in r["per_attribute"].items()} == ATTRS
    assert all(0 < v["auc"] < 1 for v in r["per_attribute"].values())


def test_plots_tables_and_subset(shared, tmp_path, capsys):
    res = shared / "data/results/OTB100"
    rc = main(["report", str(res / "HCF"), str(res / "KCF"), "--annotations",
               str(shared / "data/annotations/OTB100.json"), "--sequences", "BlurCar1",
               "--plots", str(tmp_path / "plots"), "--tables", str(tmp_path / "tab")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| HCF |" in out and "MB (Motion Blur) | 1 |" in out
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert {"success_overall.png", "success_overall.svg", "precision_overall.png", "success_MB.svg"} <= names
    assert "success_LR.png" not in names  # no sequence with LR in this subset
    assert {"report.md", "report.json", "trackers.csv", "sequences.csv", "attributes_auc.csv"} <= {
        p.name for p in (tmp_path / "tab").iterdir()}
    legend = (tmp_path / "plots/success_overall.svg").read_text()
    assert "HCF [" in legend and "KCF [" in legend


def test_missing_sequences_are_noted(shared, tmp_path, capsys):
    trk = tmp_path / "res/UDT"
    shutil.copytree(shared / "data/results/OTB100/UDT", trk)
    (trk / "Basketball.txt").unlink()
    out = tmp_path / "o.json"
    ann = str(shared / "data/annotations/OTB100.json")
    args = ["report", str(tmp_path / "res"), "--annotations", ann, "--json", str(out), "--no-plots"]
    assert main(args) == 0
    assert "no results for 1 sequence(s) (Basketball)" in capsys.readouterr().err
    r = json.loads(out.read_text())["UDT"]
    assert r["sequences"] == 99 and "Basketball" not in r["per_sequence"]


def test_bad_results_folders(shared, tmp_path, capsys):
    ann = str(shared / "data/annotations/OTB100.json")
    wrong = tmp_path / "wrong/VOTtracker"
    wrong.mkdir(parents=True)
    (wrong / "bag.txt").write_text("1,2,3,4\n")
    assert main(["report", str(tmp_path / "wrong"), "--annotations", ann]) == 2
    err = capsys.readouterr().err
    assert "VOTtracker: results for only 0 of the 100 sequences of OTB100" in err and err.count("\n") == 1
    short = tmp_path / "short/T"
    shutil.copytree(shared / "data/results/OTB100/SiamFC", short)
    (short / "Basketball.txt").write_text("1,2,3,4\n" * 5)
    assert main(["report", str(tmp_path / "short"), "--annotations", ann]) == 2
    err = capsys.readouterr().err
    assert "Basketball.txt: short result file: 5 rows for the 725 frames" in err and err.count("\n") == 1
    (short / "Basketball.txt").write_text("")
    assert main(["report", str(tmp_path / "short"), "--annotations", ann]) == 2
    assert "Basketball.txt: empty result file" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing"), "--annotations", ann]) == 2
    assert "results folder not found" in capsys.readouterr().err
