"""A table in the paper's Table 2 layout with the intervals of its accuracies and the paired
differences of its rows (and, when asked, every score in long form)."""

from maec.io.atomic import write_text
from maec.joblog import log_job_to
from maec.tables import (
    comparison_pairs,
    correctness_from_files,
    interval_frame,
    intervals_note,
    mcnemar_frame,
    paired_frame,
    scores_from_files,
    training_tokens_of,
    write_results_table,
    write_scores_long,
)

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
options = snakemake.params.options
bootstrap = snakemake.params.intervals
scores = scores_from_files(snakemake.input.scores, labels)
correctness = correctness_from_files(snakemake.input.scores, labels)
tokens = {
    label: {bench: training_tokens_of(dirs) for bench, dirs in by_bench.items()}
    for label, by_bench in snakemake.params.training_dirs.items()
}
averaged = options.get("averaged")
intervals = interval_frame(correctness, averaged, **bootstrap)
models = list(dict.fromkeys(s["model"] for s in scores))
pairs = comparison_pairs(models, labels["backbone"], snakemake.params.get("focus"))
paired = paired_frame(correctness, pairs, averaged, **bootstrap)
write_text(snakemake.output.intervals, intervals.to_csv(index=False))
write_text(snakemake.output.paired, paired.to_csv(index=False))
write_text(snakemake.output.mcnemar, mcnemar_frame(correctness, pairs).to_csv(index=False))
write_results_table(
    scores,
    tokens,
    snakemake.output.csv,
    snakemake.output.md,
    backbone=labels["backbone"],
    order=snakemake.params.get("order"),
    intervals=intervals,
    paired=paired,
    uncertainty_note=intervals_note(**bootstrap),
    **options,
)
if "scores" in snakemake.output.keys():
    write_scores_long(scores, snakemake.output.scores, intervals)
