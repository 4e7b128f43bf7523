from maec.data.hub import fetch_okapi_mmlu
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
fetch_okapi_mmlu(
    snakemake.params.hub,
    snakemake.wildcards.lang,
    snakemake.wildcards.split,
    snakemake.output[0],
    key="evaluation.mmlu.hub",
)
