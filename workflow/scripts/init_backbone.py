from maec.workflow.joblog import log_job_to
from maec.world import init_backbone

log_job_to(snakemake.log[0])
init_backbone(
    snakemake.output[0],
    snakemake.input.tokenizer,
    seed=snakemake.params.seed,
    **snakemake.params.model,
)
