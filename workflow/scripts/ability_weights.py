from maec.deltas.ability import write_ability_weights
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_ability_weights(
    snakemake.input.backbone,
    snakemake.input.ability_model,
    snakemake.input.general_model,
    snakemake.output[0],
    alpha=snakemake.params.alpha,
    beta=snakemake.params.beta,
    dtype=snakemake.params.dtype,
    delta_format=snakemake.params.delta_format,
)
