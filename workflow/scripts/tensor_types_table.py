"""Table 8: R(A) merged into one tensor type at a time, with the share of tensors covered."""

from maec.diagnostics import read_similarity_table
from maec.joblog import log_job_to
from maec.tables import results_frame, scores_from_files, write_frame

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels), {}, backbone=labels["backbone"]
).dropna(axis=1, how="all")
tensors = read_similarity_table(snakemake.input.similarity)
for name, types in snakemake.params.types.items():
    covered = tensors["type"].isin(types)
    frame.loc[name, "share of tensors (%)"] = 100 * covered.mean()
    frame.loc[name, "share of entries (%)"] = (
        100 * tensors.loc[covered, "numel"].sum() / tensors["numel"].sum()
    )
write_frame(frame, snakemake.output.csv, snakemake.output.md)
