"""Table 8: for the MAEC model's T (its k2), the share of T each group of tensor types makes
up, and the model that merges R(A) only into the tensors of T of that group."""

from maec.report.diagnostics import read_similarity_table
from maec.report.tables import domain, results_frame, scores_from_files, share_of_t, write_frame
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
bench = snakemake.params.bench
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels),
    {},
    backbone=labels["backbone"],
    averaged={bench: snakemake.params.average},
).dropna(axis=1, how="all")
shares = share_of_t(read_similarity_table(snakemake.input.similarity), snakemake.params.types)
frame.insert(0, "share of T (%)", float("nan"))
frame.loc[snakemake.params.all_tensors, "share of T (%)"] = 100.0
for name, share in shares.items():
    frame.loc[name, "share of T (%)"] = share
write_frame(
    frame,
    snakemake.output.csv,
    snakemake.output.md,
    note=f"{domain(bench)}; every row but the backbone merges R(A) into the tensors of T "
    "of its types only (the MAEC model's T, k2 of the ability); share of T counts tensors.",
)
