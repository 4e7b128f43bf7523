from maec.data.hub import fetch_mgsm
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
fetch_mgsm(
    snakemake.params.hub,
    snakemake.params.languages,
    list(snakemake.output.questions),
    snakemake.output.exemplars,
    key="evaluation.mgsm.hub",
)
