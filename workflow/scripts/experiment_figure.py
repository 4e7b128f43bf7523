"""An experiment's table (Table 2 layout, no ICER, with intervals) and its figure, whose
averages carry their intervals."""

from maec.report.figures import plot_against_k2, plot_grouped_bars
from maec.report.tables import (
    correctness_from_files,
    domain,
    interval_frame,
    intervals_note,
    results_frame,
    scores_from_files,
    write_frame,
)
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
options = snakemake.params.options
bootstrap = snakemake.params.intervals
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels),
    {},
    backbone=labels["backbone"],
    **options,
)
correctness = correctness_from_files(snakemake.input.scores, labels)
intervals = interval_frame(correctness, options.get("averaged"), **bootstrap)
frame = frame.dropna(axis=1, how="all")
header = domain(snakemake.params.bench)
if snakemake.params.kind == "k2":
    frame = frame.drop(index=labels["backbone"])
    frame.index = [float(label.removeprefix("k2=")) for label in frame.index]
    frame.index.name = "k2"
    intervals = intervals[intervals["model"] != labels["backbone"]].copy()
    intervals["model"] = [float(label.removeprefix("k2=")) for label in intervals["model"]]
    plot_against_k2(
        frame,
        header,
        snakemake.params.title,
        snakemake.output.png,
        snakemake.output.pdf,
        intervals,
    )
else:
    plot_grouped_bars(
        frame,
        header,
        snakemake.params.title,
        snakemake.output.png,
        snakemake.output.pdf,
        intervals,
    )
note = intervals_note(**bootstrap, paired=False)
write_frame(frame, snakemake.output.csv, snakemake.output.md, note=note, intervals=intervals)
