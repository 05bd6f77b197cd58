"""Scoring result folders against a dataset, overall and per attribute, and the tables.

``evaluate_tracker(folder, dataset)`` reads one tracker's result files (any format of
:mod:`regtrack.evaluation.results`), aligns them with the ground truth, scores every sequence with
the official protocol (:mod:`regtrack.evaluation.metrics`) and averages the curves the way the
MATLAB toolkit does (``perfPlot.m``), for all sequences and for each attribute. Boxes are OTB
``x,y,w,h`` (1-based).

A sequence without a result file is left out of the average, as the MATLAB toolkit leaves it out
(its curve is all zeros and ``aa(sum(aa,2)>eps,:)`` drops it); it is reported, and a folder that
holds results for fewer than half of the sequences is taken for another dataset's and refused.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from regtrack.datasets.base import Dataset, Sequence
from regtrack.errors import RegtrackError
from regtrack.evaluation.metrics import (
    ERROR_THRESHOLDS,
    NORM_ERROR_THRESHOLDS,
    OVERLAP_THRESHOLDS,
    DatasetScore,
    InvalidMode,
    SequenceScore,
    aggregate,
    evaluate_sequence,
    valid_gt,
)
from regtrack.evaluation.results import (
    align_result,
    find_result_files,
    first_frame_number,
    read_mat_results,
    read_result,
)
from regtrack.fileio import atomic_write


@dataclass
class TrackerEvaluation:
    """One tracker's scores on one dataset."""

    name: str
    overall: DatasetScore
    per_attribute: dict[str, DatasetScore] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    folder: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)  # sequence -> the result file scored

    @property
    def per_sequence(self) -> dict[str, SequenceScore]:
        return self.overall.per_sequence


def evaluate_tracker(folder: str | Path, dataset: Dataset, invalid: InvalidMode = "matlab",
                     name: str | None = None, min_fraction: float = 0.5, eval_type: str = "ope"
                     ) -> TrackerEvaluation:
    """Score the result files in ``folder`` on ``dataset`` (see module docstring). ``eval_type``
    'tre' / 'sre' reads OTB-toolkit ``results_TRE``/``results_SRE`` ``.mat`` files (20 / 12 runs
    each) or regtrack's ``SEQ/runs.json`` layout, and pools the frames of the runs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RegtrackError("results folder not found", path=folder)
    eval_type = eval_type.lower()
    if eval_type not in ("ope", "tre", "sre"):
        raise RegtrackError(f"unknown evaluation type {eval_type!r}", fix="choose ope, tre or sre")
    names = dataset.names()
    found, missing = find_result_files(folder, names)
    if eval_type != "ope":  # regtrack's own TRE/SRE layout: SEQ/runs.json + SEQ/RUN.txt
        for n in list(missing):
            if (folder / n / "runs.json").is_file():
                found[n] = folder / n / "runs.json"
                missing.remove(n)
    if not found or len(found) < min_fraction * len(names):
        sample = ", ".join(p.name for p in sorted(folder.iterdir())[:3]) or "no files"
        raise RegtrackError(f"results for only {len(found)} of the {len(names)} sequences of {dataset.name} "
                            f"(files: {sample}...)", path=folder,
                            fix="is this folder for another dataset? give the matching --annotations, "
                            "or --sequences to score a subset")
    scores = []
    for n in names:
        if n not in found:
            continue
        seq = dataset.sequences[n]
        if eval_type == "ope":
            scores.append(evaluate_sequence(result_boxes(found[n], seq), seq.gt, invalid=invalid, name=n))
        else:
            scores.append(pooled_score(sequence_runs(found[n], seq), seq, invalid))
    overall = aggregate(scores)
    per_attr = {}
    for code in dataset.attributes:
        sub = [s for s in scores if code in dataset.sequences[s.name].attributes]
        per_attr[code] = aggregate(sub)
    return TrackerEvaluation(name or folder.name, overall, per_attr, missing, folder, found)


def result_boxes(path: Path, seq: Sequence) -> np.ndarray:
    """One OPE result file's OTB boxes, one row per frame of ``seq`` (as they are scored)."""
    return align_result(read_result(path), seq, path)


def sequence_runs(path: Path, seq: Sequence) -> list[tuple[np.ndarray, int]]:
    """The runs of one TRE/SRE result -> ``[(OTB boxes, 0-based index of the run's first frame)]``.

    ``path`` is an OTB-toolkit ``.mat`` (``results{i}.startFrame`` is an image number,
    ``annoBegin`` the image number of the ground truth's first row) or regtrack's ``runs.json``."""
    runs = []
    if path.name == "runs.json":
        for r in json.loads(path.read_text()):
            runs.append((read_result(path.parent / r["file"]), int(r["start_frame"]) - 1))
        return runs
    if path.suffix.lower() != ".mat":  # a plain box file holds one run: an OPE result
        raise RegtrackError("this is a one-run (OPE) result; TRE/SRE need the toolkit's results_TRE / "
                            "results_SRE .mat files or regtrack's SEQ/runs.json", path=path,
                            fix="score it with --eval-type ope, or run regtrack eval --eval-type tre|sre")
    first = first_frame_number(seq)
    for r in read_mat_results(path):
        begin = r.anno_begin if r.anno_begin > 1 or first == 1 else first
        runs.append((r.boxes, max(r.start_frame - begin, 0)))
    return runs


def pooled_score(runs: list[tuple[np.ndarray, int]], seq: Sequence, invalid: InvalidMode = "matlab"
                 ) -> SequenceScore:
    """One sequence's TRE/SRE score: the frames of all runs pooled (``genPerfMat.m``: successes
    summed over the runs divided by the frames summed over the runs)."""
    succ = np.zeros(len(OVERLAP_THRESHOLDS))
    prec = np.zeros(len(ERROR_THRESHOLDS))
    norm = np.zeros(len(NORM_ERROR_THRESHOLDS))
    total = 0
    for boxes, offset in runs:
        gt = seq.gt[offset:]
        sub = Sequence(seq.name, list(seq.frames[offset:]), gt)
        boxes = align_result(boxes, sub)
        s = evaluate_sequence(boxes, gt, invalid=invalid)
        n = s.n_frames if invalid != "exclude" else int(valid_gt(gt).sum())
        succ += s.success_curve * n
        prec += s.precision_curve * n
        norm += s.norm_precision_curve * n
        total += n
    total = max(total, 1)
    return SequenceScore(seq.name, total, succ / total, prec / total, norm / total, invalid)


def _is_tracker_folder(p: Path) -> bool:
    if any(f.is_file() and f.suffix.lower() in (".txt", ".mat") for f in p.iterdir()):
        return True
    return any((d / "runs.json").is_file() for d in p.iterdir() if d.is_dir())


def discover_trackers(results_dirs: list[str | Path]) -> dict[str, Path]:
    """Tracker folders: each RESULTS_DIR holds one folder per tracker (a RESULTS_DIR that holds
    result files itself counts as one tracker). Names must be unique."""
    out: dict[str, Path] = {}
    for d in map(Path, results_dirs):
        if not d.is_dir():
            raise RegtrackError("results folder not found", path=d,
                                fix="give a folder that holds one folder of result files per tracker")
        subs = sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
        entries = [d] if _is_tracker_folder(d) else [p for p in subs if _is_tracker_folder(p)]
        if not entries:
            raise RegtrackError("no tracker folders or result files here", path=d,
                                fix="each RESULTS_DIR holds one folder of result files per tracker")
        for p in entries:
            name = p.name if p.name not in out else f"{p.parent.name}/{p.name}"
            out[name] = p
    return out


def ranked(evals: list[TrackerEvaluation], key: str = "auc", attribute: str | None = None
           ) -> list[TrackerEvaluation]:
    """Trackers best first by ``key`` ('auc' or 'precision'), overall or on one attribute."""
    def score(e: TrackerEvaluation) -> float:
        s = e.overall if attribute is None else e.per_attribute.get(attribute)
        return getattr(s, key) if s is not None else -1.0

    return sorted(evals, key=score, reverse=True)


def to_json(evals: list[TrackerEvaluation], dataset: Dataset, invalid: str = "matlab") -> dict[str, Any]:
    """``{tracker: {auc, precision, norm_precision, sequences, per_sequence, per_attribute, ...}}``."""
    out: dict[str, Any] = {}
    for e in evals:
        o = e.overall
        out[e.name] = {
            "auc": o.auc, "precision": o.precision, "norm_precision": o.norm_precision,
            "success_rate": o.success_rate, "sequences": o.n_sequences,
            "per_sequence": {n: {"auc": s.auc, "precision": s.precision, "norm_precision": s.norm_precision,
                                 "frames": s.n_frames} for n, s in o.per_sequence.items()},
            "per_attribute": {a: {"name": dataset.attribute_names.get(a, a), "sequences": s.n_sequences,
                                  "auc": s.auc, "precision": s.precision, "norm_precision": s.norm_precision}
                              for a, s in e.per_attribute.items()},
            "missing": e.missing,
            "success_curve": o.success_curve.tolist(),
            "precision_curve": o.precision_curve.tolist(),
            "protocol": {"success": "21 thresholds 0:0.05:1, IoU > t, AUC = mean",
                         "precision": "0:50 px, error <= t, at 20 px", "invalid_gt": invalid,
                         "first_frame": "ground truth"},
        }
    return out


def _md(rows: list[list[str]]) -> str:
    head, body = rows[0], rows[1:]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def tracker_rows(evals: list[TrackerEvaluation]) -> list[list[str]]:
    """Header + one row per tracker (ranked by AUC)."""
    rows = [["tracker", "AUC", "P@20", "norm P", "OP50", "sequences"]]
    for e in ranked(evals):
        o = e.overall
        rows.append([e.name, f"{o.auc:.3f}", f"{o.precision:.3f}", f"{o.norm_precision:.3f}",
                     f"{o.success_rate:.3f}", str(o.n_sequences)])
    return rows


def attribute_rows(evals: list[TrackerEvaluation], dataset: Dataset, key: str = "auc") -> list[list[str]]:
    """Header + one row per attribute ``CODE (n)`` with each tracker's AUC (or precision)."""
    order = ranked(evals)
    counts = dataset.attribute_counts()
    rows = [["attribute", "sequences", *[e.name for e in order]]]
    for a in dataset.attributes:
        rows.append([f"{a} ({dataset.attribute_names.get(a, a)})", str(counts.get(a, 0)),
                     *[f"{getattr(e.per_attribute[a], key):.3f}" for e in order]])
    return rows


def sequence_rows(evals: list[TrackerEvaluation], dataset: Dataset) -> list[list[str]]:
    """Header + one row per sequence with each tracker's AUC / P@20."""
    order = ranked(evals)
    rows = [["sequence", "frames", *[f"{e.name} AUC/P@20" for e in order]]]
    for n, seq in dataset.sequences.items():
        cells = []
        for e in order:
            s = e.per_sequence.get(n)
            cells.append("-" if s is None else f"{s.auc:.3f}/{s.precision:.3f}")
        rows.append([n, str(len(seq)), *cells])
    return rows


def tables(evals: list[TrackerEvaluation], dataset: Dataset) -> dict[str, list[list[str]]]:
    tabs = {"trackers": tracker_rows(evals), "sequences": sequence_rows(evals, dataset)}
    if dataset.attributes:
        tabs["attributes_auc"] = attribute_rows(evals, dataset, "auc")
        tabs["attributes_precision"] = attribute_rows(evals, dataset, "precision")
    return tabs


def markdown(evals: list[TrackerEvaluation], dataset: Dataset, eval_type: str = "OPE") -> str:
    """The report as Markdown: trackers, per attribute (AUC, with sequence counts), per sequence."""
    tabs = tables(evals, dataset)
    parts = [f"## {dataset.name}: {len(dataset)} sequences, {eval_type}\n", _md(tabs["trackers"])]
    if "attributes_auc" in tabs:
        parts += ["\n### AUC per attribute\n", _md(tabs["attributes_auc"]),
                  "\n### Precision (20 px) per attribute\n", _md(tabs["attributes_precision"])]
    parts += ["\n### Per sequence (AUC/P@20)\n", _md(tabs["sequences"])]
    return "".join(parts)


def write_tables(evals: list[TrackerEvaluation], dataset: Dataset, out_dir: str | Path,
                 invalid: str = "matlab") -> list[Path]:
    """``report.md``, ``report.json`` and one CSV per table in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.md", out_dir / "report.json"]
    atomic_write(written[0], markdown(evals, dataset))
    atomic_write(written[1], json.dumps(to_json(evals, dataset, invalid), indent=1))
    for name, rows in tables(evals, dataset).items():
        p = out_dir / f"{name}.csv"
        atomic_write(p, _csv(rows))
        written.append(p)
    return written


HTML_TEMPLATE = Path(__file__).with_name("report.html")


def _finite(value: Any) -> Any:
    """JSON for a browser: NaN (an attribute no sequence has) becomes null, which JSON.parse reads."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_html(evals: list[TrackerEvaluation], dataset: Dataset, out_dir: str | Path, invalid: str = "matlab",
               eval_type: str = "OPE", clips: dict[str, str] | None = None,
               colours: dict[str, str] | None = None) -> Path:
    """``out_dir/index.html``: one page that opens from disk (no server) with the success and
    precision plots overall and per attribute (PNG files in ``out_dir/plots``), the ranked tables,
    and a per-sequence table (attribute flags, every tracker's AUC and P@20) sortable by any column.
    Its numbers are :func:`to_json`'s, embedded as they are; ``clips`` (sequence -> path relative
    to ``out_dir``) adds the side-by-side clips, ``colours`` (tracker -> CSS colour) their legend.
    The page is :data:`HTML_TEMPLATE` with its title and data filled in."""
    from regtrack.evaluation.plots import draw_plots

    out_dir = Path(out_dir)
    plot_files = draw_plots(evals, dataset, out_dir / "plots", attributes=bool(dataset.attributes),
                            formats=("png",), eval_type=eval_type)
    plots: dict[str, dict[str, str]] = {}
    for p in plot_files:  # plots/success_overall.png, plots/precision_IV.png ...
        kind, _, key = p.stem.partition("_")
        plots.setdefault(key, {})[kind] = p.relative_to(out_dir).as_posix()
    counts = dataset.attribute_counts()
    title = f"{dataset.name}: {len(dataset)} sequences, {eval_type.upper()}"
    data = {
        "title": title,
        "protocol": "Success: IoU > t over t = 0:0.05:1, AUC = the mean of the 21 values. Precision: centre "
                    f"error <= 20 px. First frame: ground truth. Invalid ground truth: {invalid}. "
                    "Dataset scores average the per-sequence curves (the OTB toolkit's perfPlot.m).",
        "trackers": to_json(evals, dataset, invalid),
        "ranked": [e.name for e in ranked(evals)],
        "attributes": [{"code": a, "name": dataset.attribute_names.get(a, a), "count": counts.get(a, 0)}
                       for a in dataset.attributes],
        "sequences": [{"name": n, "frames": len(seq), "attributes": list(seq.attributes)}
                      for n, seq in dataset.sequences.items()],
        "plots": plots,
        "clips": clips or {},
        "colours": colours or {},
    }
    payload = json.dumps(_finite(data), separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\u0021--")  # stays inside its <script>
    page = HTML_TEMPLATE.read_text(encoding="utf-8")
    page = page.replace("{{title}}", html.escape(title)).replace("{{data}}", payload)
    from regtrack.fileio import atomic_write

    path = out_dir / "index.html"
    atomic_write(path, page)
    return path
