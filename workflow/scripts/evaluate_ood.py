"""Table 3's scores of one model: lm-evaluation-harness tasks outside its ability."""

from maec.evaluation.ood import evaluate_ood
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
settings = dict(snakemake.params.settings)
evaluate_ood(
    snakemake.input.model,
    settings.pop("tasks"),
    snakemake.output.scores,
    snakemake.output.results,
    snakemake.output.records,
    **settings,
)
