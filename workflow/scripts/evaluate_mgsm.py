from maec.evaluation.mgsm import evaluate_mgsm
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
evaluate_mgsm(
    snakemake.input.model,
    snakemake.input.questions,
    snakemake.input.exemplars,
    snakemake.wildcards.lang,
    snakemake.output.examples,
    snakemake.output.score,
    n_shots=snakemake.params.n_shots,
    chain_of_thought=snakemake.params.chain_of_thought,
    max_new_tokens=snakemake.params.max_new_tokens,
    batch_size=snakemake.params.batch_size,
    limit=snakemake.params.limit,
)
