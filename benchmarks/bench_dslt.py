"""DSLT on the OTB targets in ../shared/data/otb, beside CREST (the authors' raw DSLT results are
not published; its paper reports OTB-2015 AUC 0.660), with the three losses and KCF in the same
run:

    OMP_NUM_THREADS=1 nice python benchmarks/bench_dslt.py --out runs/bench_dslt \
        --run kcf@KCF --run crest@CREST --run dslt@DSLT --run dslt:loss=l2@DSLT-L2 \
        --run dslt:loss=l3@DSLT-L3 --run dslt:backbone_dtype=bfloat16,input_scale=0.5@DSLT-fast \
        --json runs/bench_dslt.json

The reference column is the authors' published CREST (the issue's bar); ``--run`` specs,
resuming, interleaving, fps and the per-stage seconds are those of ``bench_crest.py``
(:func:`common.otb_side_by_side`).
"""

from __future__ import annotations

from pathlib import Path

from common import SHARED, otb_side_by_side  # noqa: E402  (benchmarks/ is on sys.path when run)


def main(argv: list[str] | None = None) -> dict:
    return otb_side_by_side(argv, description=__doc__, published=SHARED / "data/results/OTB100/CREST",
                            published_label="CREST (published)", out=Path("runs/bench_dslt"))


if __name__ == "__main__":
    main()
