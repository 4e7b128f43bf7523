from maec.deltas.ability import write_ability_weights
from maec.io.lineage import write_record
from maec.training.masters import run_weights
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
precision = snakemake.params.get("precision", "checkpoint")
write_ability_weights(
    snakemake.input.backbone,
    run_weights(snakemake.input.ability_model, precision),
    run_weights(snakemake.input.general_model, precision),
    snakemake.output[0],
    alpha=snakemake.params.alpha,
    beta=snakemake.params.beta,
    dtype=snakemake.params.dtype,
    delta_format=snakemake.params.delta_format,
)
write_record(snakemake.output[0], snakemake.output.lineage)
