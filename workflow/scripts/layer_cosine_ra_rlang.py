"""The cosine between R(A) and R_Lang per layer and tensor family (over several
training seeds: the mean and the band from their minimum to maximum)."""

from maec.report.diagnostics import write_layer_cosines
from maec.report.figures import plot_layer_cosines
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
layers = write_layer_cosines(snakemake.input, snakemake.output.csv)
plot_layer_cosines(layers, snakemake.params.title, snakemake.output.png, snakemake.output.pdf)
