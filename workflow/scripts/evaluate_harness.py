from maec.evaluation.harness import evaluate_harness_languages
from maec.evaluation.on_load import model_to_score
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
model = model_to_score(
    dict(snakemake.input.items()), snakemake.params.merged_on_load, snakemake.wildcards.model
)
settings = dict(snakemake.params.settings)
evaluate_harness_languages(
    model,
    snakemake.params.bench,
    settings.pop("tasks"),
    settings.pop("metric"),
    snakemake.output.examples,
    snakemake.output.scores,
    **settings,
)
