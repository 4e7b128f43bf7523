from maec.hub import fetch_okapi_mmlu
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
fetch_okapi_mmlu(
    snakemake.params.hub,
    snakemake.params.languages,
    list(snakemake.output.test),
    list(snakemake.output.dev),
)
