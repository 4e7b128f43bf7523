"""Figure 5b: the cosine between R(A) and R_Lang per layer and tensor family."""

from maec.diagnostics import write_layer_cosines
from maec.figures import plot_layer_cosines
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
layers = write_layer_cosines(snakemake.input[0], snakemake.output.csv)
plot_layer_cosines(layers, snakemake.params.title, snakemake.output.png, snakemake.output.pdf)
