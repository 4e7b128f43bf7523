"""A table in the paper's Table 2 layout (and, when asked, every score in long form)."""

from maec.joblog import log_job_to
from maec.tables import (
    scores_from_files,
    training_tokens_of,
    write_results_table,
    write_scores_long,
)

log_job_to(snakemake.log[0])
scores = scores_from_files(snakemake.input.scores, snakemake.params.labels)
order = snakemake.params.get("order")
if order:  # rows in the paper's order
    scores.sort(key=lambda score: order.index(score["model"]))
tokens = {label: training_tokens_of(dirs) for label, dirs in snakemake.params.training_dirs.items()}
write_results_table(
    scores,
    tokens,
    snakemake.output.csv,
    snakemake.output.md,
    backbone=snakemake.params.labels["backbone"],
)
if "scores" in snakemake.output.keys():
    write_scores_long(scores, snakemake.output.scores)
