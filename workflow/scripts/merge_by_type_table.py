"""R(A) merged into every tensor of one group of tensor types at a time, with the share of the
model's tensors and entries the group covers (not the paper's Table 8: see table8.py)."""

from maec.diagnostics import read_similarity_table
from maec.joblog import log_job_to
from maec.tables import results_frame, scores_from_files, share_of_model, write_frame

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
options = dict(snakemake.params.options, icer_decimals=None)
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels), {}, backbone=labels["backbone"], **options
).dropna(axis=1, how="all")
shares = share_of_model(read_similarity_table(snakemake.input.similarity), snakemake.params.types)
frame = frame.join(shares, how="left")
write_frame(frame, snakemake.output.csv, snakemake.output.md)
