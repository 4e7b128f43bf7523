from maec.deltas.language import write_language_weights
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_language_weights(
    snakemake.input.backbone,
    snakemake.input.language_model,
    snakemake.input.get("general_model"),
    snakemake.output[0],
    alpha=snakemake.params.alpha,
    beta=snakemake.params.beta,
    mode=snakemake.params.mode,
    dtype=snakemake.params.dtype,
    delta_format=snakemake.params.delta_format,
)
