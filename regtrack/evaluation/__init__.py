"""The OTB evaluation toolkit: metrics (exactly the official protocol), reading and writing
results, the resumable/parallel runner, reports and plots. Boxes are OTB ``x,y,w,h`` (1-based).

* :mod:`regtrack.evaluation.metrics`: ``overlap_ratios``, ``center_errors``, ``success_curve``,
  ``precision_curve``, ``normalized_precision_curve``, ``auc``, ``evaluate_sequence``, ``aggregate``
* :mod:`regtrack.evaluation.results`: ``read_result``, ``find_result_files``, ``align_result``,
  ``write_result``
* :mod:`regtrack.evaluation.runner`: ``run_dataset`` (OPE / TRE / SRE; workers; Ray)
* :mod:`regtrack.evaluation.report` and :mod:`regtrack.evaluation.plots`: tables, JSON, plots
"""

from regtrack.evaluation.metrics import (
    SequenceScore,
    auc,
    center_errors,
    evaluate_sequence,
    normalized_precision_curve,
    overlap_ratios,
    precision_curve,
    success_curve,
)

__all__ = ["SequenceScore", "auc", "center_errors", "evaluate_sequence", "normalized_precision_curve",
           "overlap_ratios", "precision_curve", "success_curve"]
