from maec.evaluation.mmlu import evaluate_mmlu
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
evaluate_mmlu(
    snakemake.input.model,
    snakemake.input.test,
    snakemake.input.dev,
    snakemake.wildcards.lang,
    snakemake.output.examples,
    snakemake.output.score,
    n_shots=snakemake.params.n_shots,
    batch_size=snakemake.params.batch_size,
    limit=snakemake.params.limit,
)
