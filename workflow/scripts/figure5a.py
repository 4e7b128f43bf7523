"""Figure 5a: the training loss of masked CPT (the key neurons) against full CPT."""

import pandas as pd

from maec.report.figures import plot_training_losses
from maec.report.updates import training_losses
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
runs = snakemake.params.runs
masked = training_losses(dict(zip(runs, snakemake.input.masked)))
full = training_losses(dict(zip(runs, snakemake.input.full)))
losses = pd.concat([masked.assign(training="key neurons"), full.assign(training="every entry")])
losses.to_csv(snakemake.output.csv, index=False)
plot_training_losses(losses, snakemake.output.png, snakemake.output.pdf)
