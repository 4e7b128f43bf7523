from maec.evaluation.mgsm import evaluate_mgsm_languages
from maec.evaluation.on_load import model_to_score
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
model = model_to_score(
    dict(snakemake.input.items()), snakemake.params.merged_on_load, snakemake.wildcards.model
)
evaluate_mgsm_languages(
    model,
    snakemake.params.languages,
    snakemake.input.questions,
    snakemake.input.exemplars,
    snakemake.output.examples,
    snakemake.output.scores,
    n_shots=snakemake.params.n_shots,
    chain_of_thought=snakemake.params.chain_of_thought,
    max_new_tokens=snakemake.params.max_new_tokens,
    batch_size=snakemake.params.batch_size,
    limit=snakemake.params.limit,
)
