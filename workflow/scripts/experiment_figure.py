"""An experiment's table (Table 2 layout, no ICER) and its figure."""

from maec.figures import plot_against_k2, plot_grouped_bars
from maec.joblog import log_job_to
from maec.tables import BENCHES, results_frame, scores_from_files, write_frame

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels),
    {},
    backbone=labels["backbone"],
    **snakemake.params.options,
)
frame = frame.dropna(axis=1, how="all")
domain = BENCHES[snakemake.params.bench]
if snakemake.params.kind == "k2":
    frame = frame.drop(index=labels["backbone"])
    frame.index = [float(label.removeprefix("k2=")) for label in frame.index]
    frame.index.name = "k2"
    plot_against_k2(
        frame, domain, snakemake.params.title, snakemake.output.png, snakemake.output.pdf
    )
else:
    plot_grouped_bars(
        frame, domain, snakemake.params.title, snakemake.output.png, snakemake.output.pdf
    )
write_frame(frame, snakemake.output.csv, snakemake.output.md)
