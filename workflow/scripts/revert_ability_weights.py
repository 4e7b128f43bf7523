from maec.deltas.revert import write_reverted_ability_weights
from maec.training.masters import run_weights
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
precision = snakemake.params.get("precision", "checkpoint")
write_reverted_ability_weights(
    snakemake.input.backbone,
    run_weights(snakemake.input.trained, precision),
    run_weights(snakemake.input.general_model, precision),
    snakemake.output[0],
    alpha=snakemake.params.alpha,
    beta=snakemake.params.beta,
    dtype=snakemake.params.dtype,
    delta_format=snakemake.params.delta_format,
    **snakemake.params.revert,
)
