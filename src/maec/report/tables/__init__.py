"""The paper's tables from score files: Table 2 (accuracy per language, Avg over the averaged
languages, ICER, #Tokens), Table 3 (out-of-domain differences), Table 8 (share of T per tensor
type), and the hyper-parameter selection on dev scores.

`accuracy` holds the arithmetic (pure functions), `results` lays Table 2 out, `markdown`
writes tables, `files` reads what they need, `intervals` says how far each number can be
trusted; `tensor_types` and `ood` build Tables 8 and 3.
"""

from maec.report.tables.accuracy import (
    BENCHES,
    DEFAULT_METRICS,
    accuracy_cells,
    domain,
    icer,
    language_average,
    metric_of,
    ordered_benches,
    printed,
)
from maec.report.tables.files import (
    average_score,
    scores_from_files,
    select_variant,
    training_tokens_of,
    write_scores_long,
)
from maec.report.tables.intervals import (
    comparison_pairs,
    correctness_from_files,
    interval_frame,
    mcnemar_frame,
    paired_frame,
    within_interval,
)
from maec.report.tables.markdown import (
    intervals_note,
    markdown_table,
    paired_table,
    results_note,
    with_intervals,
    write_frame,
    write_results_table,
)
from maec.report.tables.ood import ood_frame, ood_intervals, read_ood_items
from maec.report.tables.results import (
    TOKENS_COLUMN,
    average_column,
    is_average_column,
    results_frame,
    token_budget,
)
from maec.report.tables.tensor_types import share_of_model, share_of_t

__all__ = [
    "BENCHES",
    "DEFAULT_METRICS",
    "TOKENS_COLUMN",
    "accuracy_cells",
    "domain",
    "metric_of",
    "ordered_benches",
    "average_column",
    "average_score",
    "comparison_pairs",
    "correctness_from_files",
    "interval_frame",
    "intervals_note",
    "mcnemar_frame",
    "paired_frame",
    "paired_table",
    "icer",
    "is_average_column",
    "language_average",
    "markdown_table",
    "ood_frame",
    "ood_intervals",
    "read_ood_items",
    "printed",
    "results_frame",
    "results_note",
    "scores_from_files",
    "select_variant",
    "share_of_model",
    "share_of_t",
    "token_budget",
    "training_tokens_of",
    "with_intervals",
    "within_interval",
    "write_frame",
    "write_results_table",
    "write_scores_long",
]
