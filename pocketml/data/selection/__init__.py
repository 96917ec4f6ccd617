"""Edge data selection: which samples to label, which to keep on the device, which hurt.

- uncertainty sampling (``uncertainty``: least confidence, margin, entropy) from a torch module
  or a scikit-learn estimator; diversity (``k_center_greedy``) and ``hybrid_select``;
- the active-learning loop (``ActiveLearner``, resumable from its saved state) and learning
  curves per strategy (``compare_strategies``);
- data valuation: exact ``knn_shapley`` and ``removal_curve``;
- label noise: ``noise_report`` (cleanlab's confident learning vs the lowest Shapley values);
- ``select``: one call that drops suspects, ranks, and cuts to a label or byte budget;
  ``run_selection`` / ``write_selection``: what ``pocketml select`` runs and writes.
"""

from pocketml.data.selection.active import (
    STRATEGIES,
    ActiveLearner,
    CurveComparison,
    LabelOracle,
    LearningCurve,
    compare_strategies,
)
from pocketml.data.selection.diversity import hybrid_select, k_center_greedy
from pocketml.data.selection.embeddings import embed
from pocketml.data.selection.learners import TorchClassifier, default_learner
from pocketml.data.selection.noise import NoiseReport, find_label_issues, noise_report
from pocketml.data.selection.plan import SELECT_STRATEGIES, Selection, SelectionPlan, select
from pocketml.data.selection.run import (
    SelectionRun,
    flip_labels,
    load_selection_data,
    run_selection,
    write_selection,
)
from pocketml.data.selection.uncertainty import UNCERTAINTY, most_uncertain, predict_proba, uncertainty
from pocketml.data.selection.valuation import RemovalCurve, brute_force_shapley, knn_shapley, removal_curve

__all__ = [
    "STRATEGIES", "SELECT_STRATEGIES", "UNCERTAINTY", "ActiveLearner", "CurveComparison", "LabelOracle",
    "LearningCurve", "NoiseReport", "RemovalCurve", "Selection", "SelectionPlan", "TorchClassifier",
    "brute_force_shapley",
    "compare_strategies", "default_learner", "embed", "find_label_issues", "hybrid_select", "k_center_greedy",
    "knn_shapley", "most_uncertain", "noise_report", "predict_proba", "removal_curve", "select", "uncertainty",
    "SelectionRun", "flip_labels", "load_selection_data", "run_selection", "write_selection",
]
