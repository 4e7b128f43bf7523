from maec.deltas.revert import write_reverted_ability_weights
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_reverted_ability_weights(
    snakemake.input.backbone,
    snakemake.input.trained,
    snakemake.input.general_model,
    snakemake.output[0],
    alpha=snakemake.params.alpha,
    beta=snakemake.params.beta,
    dtype=snakemake.params.dtype,
    delta_format=snakemake.params.delta_format,
    **snakemake.params.revert,
)
