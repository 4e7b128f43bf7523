"""The default target's picture of one ability: the backbone's and the MAEC model's accuracy
per language with their intervals, from the results table's intervals."""

import pandas as pd

from maec.report.figures import plot_language_intervals
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
intervals = pd.read_csv(snakemake.input.intervals)
intervals = intervals[intervals["bench"] == snakemake.params.bench]
if intervals.empty:
    raise ValueError(f"{snakemake.input.intervals}: no {snakemake.params.bench} score")
level = f"{snakemake.params.level:.0%}"
plot_language_intervals(
    intervals,
    f"{snakemake.wildcards.ability}: accuracy per language ({level} intervals)",
    snakemake.output.png,
    snakemake.output.pdf,
)
