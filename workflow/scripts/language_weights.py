from maec.deltas.language import write_language_weights
from maec.io.lineage import write_record
from maec.training.masters import run_weights
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
precision = snakemake.params.get("precision", "checkpoint")
general = snakemake.input.get("general_model")
write_language_weights(
    snakemake.input.backbone,
    run_weights(snakemake.input.language_model, precision),
    None if general is None else run_weights(general, precision),
    snakemake.output[0],
    alpha=snakemake.params.alpha,
    beta=snakemake.params.beta,
    mode=snakemake.params.mode,
    dtype=snakemake.params.dtype,
    delta_format=snakemake.params.delta_format,
)
write_record(snakemake.output[0], snakemake.output.lineage)
