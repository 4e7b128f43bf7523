from maec.workflow.joblog import log_job_to
from maec.world import train_tokenizer

log_job_to(snakemake.log[0])
train_tokenizer(
    snakemake.input.corpora,
    snakemake.output[0],
    vocab_size=snakemake.params.vocab_size,
    seed=snakemake.params.seed,
)
