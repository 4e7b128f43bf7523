from maec.evaluation.mmlu import evaluate_mmlu_languages
from maec.evaluation.on_load import model_to_score
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
model = model_to_score(
    dict(snakemake.input.items()), snakemake.params.merged_on_load, snakemake.wildcards.model
)
evaluate_mmlu_languages(
    model,
    snakemake.params.languages,
    snakemake.input.test,
    snakemake.input.dev,
    snakemake.output.examples,
    snakemake.output.scores,
    n_shots=snakemake.params.n_shots,
    subjects=snakemake.params.subjects,
    batch_size=snakemake.params.batch_size,
    limit=snakemake.params.limit,
)
