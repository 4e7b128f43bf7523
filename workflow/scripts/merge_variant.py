from maec.combination.similarity import selected_tensors, write_similarity_rows
from maec.combination.variant import variant_similarity, write_variant_merge
from maec.io.hf_dir import write_hf_directory
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
inputs = dict(snakemake.input.items())
rows = variant_similarity(inputs, snakemake.params.settings)
write_similarity_rows(rows, snakemake.output.similarity)
write_variant_merge(
    inputs, snakemake.params.settings, selected_tensors(rows), snakemake.output.weights
)
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
