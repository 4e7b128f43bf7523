from maec.keyneurons.masks import build_key_neuron_mask
from maec.training.masters import float32_masters
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
build_key_neuron_mask(
    snakemake.input.backbone,
    float32_masters(snakemake.input.tuned),
    snakemake.output.mask,
    k1=snakemake.params.k1,
    lr=snakemake.params.lr,
    scope=snakemake.params.scope,
    include=snakemake.params.include,
    exclude=snakemake.params.exclude,
    tie_seed=snakemake.params.tie_seed,
)
