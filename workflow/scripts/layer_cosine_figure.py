"""Figure 5b: the cosine between R(A) and R_Lang per layer and tensor family."""

from maec.diagnostics import layer_cosines, read_similarity_table
from maec.figures import plot_layer_cosines
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
layers = layer_cosines(read_similarity_table(snakemake.input[0]))
layers.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
plot_layer_cosines(layers, snakemake.params.title, snakemake.output.png, snakemake.output.pdf)
