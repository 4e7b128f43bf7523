"""R(A) merged into every tensor of one group of tensor types at a time, with the share of the
model's tensors and entries the group covers (not the paper's Table 8: see table8.py)."""

from maec.report.diagnostics import read_similarity_table
from maec.report.tables import results_frame, scores_from_files, share_of_model, write_frame
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
options = dict(snakemake.params.options, icer_decimals=None)
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels), {}, backbone=labels["backbone"], **options
).dropna(axis=1, how="all")
shares = share_of_model(read_similarity_table(snakemake.input.similarity), snakemake.params.types)
frame = frame.join(shares, how="left")
write_frame(frame, snakemake.output.csv, snakemake.output.md)
