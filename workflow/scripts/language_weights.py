from maec.joblog import log_job_to
from maec.language import write_language_weights

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
