"""A table in the paper's Table 2 layout (and, when asked, every score in long form)."""

from maec.joblog import log_job_to
from maec.tables import (
    scores_from_files,
    training_tokens_of,
    write_results_table,
    write_scores_long,
)

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
scores = scores_from_files(snakemake.input.scores, labels)
tokens = {
    label: {bench: training_tokens_of(dirs) for bench, dirs in by_bench.items()}
    for label, by_bench in snakemake.params.training_dirs.items()
}
write_results_table(
    scores,
    tokens,
    snakemake.output.csv,
    snakemake.output.md,
    backbone=labels["backbone"],
    order=snakemake.params.get("order"),
    **snakemake.params.options,
)
if "scores" in snakemake.output.keys():
    write_scores_long(scores, snakemake.output.scores)
