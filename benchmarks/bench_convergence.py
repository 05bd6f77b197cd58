"""How fast DSLT's first-frame training converges with each loss (L2, L3, shrinkage), on the same
first frames of the OTB targets (the talk's "Convergence speed" slide; DSLT, Lu et al. ECCV 2018):

    OMP_NUM_THREADS=1 nice python benchmarks/bench_convergence.py --out runs/bench_convergence.json \
        --sequences Bird2,CarDark,Crossing,David,Dog,Football1,Girl,Skiing --png runs/convergence.png

Per target and loss, the head trains for ``--iterations`` (DSLT's cap, 100) without stopping, on
the same augmented patches and random draws (:func:`regtrack.trackers.dslt.convergence_curves`);
the table counts the iterations until

* **own**: the loss's own value falls under DSLT's stopping threshold (``init_stop_loss``, 0.03) —
  what the tracker does, but each loss reports on its own scale (shrinkage shrinks every term,
  L3 multiplies it by ``l``), so these counts do not compare the losses' progress;
* **common**: the plain L2 error ``sum((X - Y)^2) / sum(Y^2)`` falls under ``--common-error``
  (0.5: half the untrained head's error) — one measure for every loss.

Results are saved after each target (``--out``, a JSON file, written atomically) and a second run
resumes. ``--param KEY=VALUE`` overrides DSLT's hyperparameters (e.g. ``backbone_dtype=bfloat16``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import SHARED  # noqa: E402  (benchmarks/ is on sys.path when run)

LOSSES = ("l2", "l3", "shrinkage")


def main(argv: list[str] | None = None) -> dict:
    from regtrack.datasets.otb import load_otb
    from regtrack.fileio import atomic_write
    from regtrack.trackers.base import parse_overrides
    from regtrack.trackers.dslt import DSLTParams, convergence_curves
    from regtrack.viz.regression import iterations_to, render_convergence

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=SHARED / "data/otb")
    ap.add_argument("--annotations", type=Path, default=SHARED / "data/annotations/OTB100.json")
    ap.add_argument("--sequences", help="comma-separated subset (default: every target under --root)")
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--common-error", type=float, default=0.5)
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_convergence.json"),
                    help="results (resumable)")
    ap.add_argument("--png", type=Path, help="also draw the curves of every target")
    args = ap.parse_args(argv)

    dataset = load_otb(args.annotations, args.root)
    names = args.sequences.split(",") if args.sequences else [s.name for s in dataset if s.is_present()]
    params = parse_overrides("dslt", args.param)
    threshold = params.get("init_stop_loss", DSLTParams().init_stop_loss)
    setting = {"iterations": args.iterations, "common_error": args.common_error, "params": params}
    done = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if done.get("setting", setting) != setting:
        raise SystemExit(f"{args.out} holds a run with other settings ({done['setting']}): use another --out")
    done["setting"] = setting
    results = done.setdefault("targets", {})
    for name in names:
        seq = dataset[name]
        if seq.name in results:
            continue
        runs = convergence_curves(seq.image(0), seq.init_box, list(LOSSES), params, args.iterations)
        results[seq.name] = {loss: {"losses": r.losses, "relative_l2": r.monitored}
                             for loss, r in runs.items()}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, json.dumps(done))
        print(f"{seq.name}: done", flush=True)

    rows = {name: results[dataset[name].name] for name in names}
    print(f"\n{'target':12s} " + " ".join(f"{f'{loss} own/common/final':>26s}" for loss in LOSSES))
    summary: dict = {loss: {"own": [], "common": [], "final": []} for loss in LOSSES}
    for name, runs in rows.items():
        cells = []
        for loss in LOSSES:
            own = iterations_to(runs[loss]["losses"], threshold)
            common = iterations_to(runs[loss]["relative_l2"], args.common_error)
            final = runs[loss]["relative_l2"][-1]
            summary[loss]["own"].append(own or args.iterations)
            summary[loss]["common"].append(common or args.iterations)
            summary[loss]["final"].append(final)
            cells.append(f"{own or '-':>8} {common or '-':>8} {final:8.3f}")
        print(f"{name:12s} " + " ".join(f"{c:>26s}" for c in cells))
    print(f"{'mean':12s} " + " ".join(
        f"{np.mean(summary[loss]['own']):8.1f} {np.mean(summary[loss]['common']):8.1f} "
        f"{np.mean(summary[loss]['final']):8.3f}".rjust(26) for loss in LOSSES))
    print(f"(own: iterations until the loss < {threshold:g}; common: until the plain L2 error < "
          f"{args.common_error:g} x the untrained head's; '-' = not within {args.iterations}, counted as "
          f"{args.iterations} in the mean; final: plain L2 error / label energy after {args.iterations})")
    if args.png:
        own = {n: {loss: r[loss]["losses"] for loss in LOSSES} for n, r in rows.items()}
        common = {n: {loss: r[loss]["relative_l2"] for loss in LOSSES} for n, r in rows.items()}
        out = render_convergence(own, threshold, args.png, common=common,
                                 common_threshold=args.common_error,
                                 title="DSLT first-frame training (solid: each loss; dashed: plain L2 error)")
        print(f"wrote {out}")
    return {"setting": setting, "summary": summary}


if __name__ == "__main__":
    main()
