"""A table in the paper's Table 2 layout with the intervals of its accuracies and the paired
differences of its rows (over several training seeds: the means and their spread), and,
when asked, every score in long form."""

from maec.io.atomic import write_text
from maec.report.tables import (
    intervals_note,
    training_tokens_of,
    write_results_table,
    write_scores_long,
)
from maec.report.tables.seeds import group_by_seed, seeds_note, uncertainty_tables
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
options = snakemake.params.options
bootstrap = snakemake.params.intervals
paths_by_seed = group_by_seed(snakemake.input.scores, snakemake.params.seeds)
tables = uncertainty_tables(
    paths_by_seed,
    labels,
    labels["backbone"],
    snakemake.params.get("focus"),
    options.get("averaged"),
    **bootstrap,
)
tokens = {
    label: {bench: training_tokens_of(dirs) for bench, dirs in by_bench.items()}
    for label, by_bench in snakemake.params.training_dirs.items()
}
write_text(snakemake.output.intervals, tables.intervals.to_csv(index=False))
write_text(snakemake.output.paired, tables.paired.to_csv(index=False))
write_text(snakemake.output.mcnemar, tables.mcnemar.to_csv(index=False))
note = intervals_note(**bootstrap)
if len(paths_by_seed) > 1:
    note = f"{note}\n\n{seeds_note(list(paths_by_seed))}"
write_results_table(
    tables.scores,
    tokens,
    snakemake.output.csv,
    snakemake.output.md,
    backbone=labels["backbone"],
    order=snakemake.params.get("order"),
    intervals=tables.intervals,
    paired=tables.paired,
    uncertainty_note=note,
    **options,
)
if "scores" in snakemake.output.keys():
    write_scores_long(tables.seed_scores, snakemake.output.scores, tables.seed_intervals)
