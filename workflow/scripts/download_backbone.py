from maec.data.hub import fetch_model
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
key = snakemake.params.get("key", "backbone")  # the config key that names the source
fetch_model(snakemake.params.source, snakemake.output[0], key=key)
