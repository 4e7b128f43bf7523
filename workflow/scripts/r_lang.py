from maec.joblog import log_job_to
from maec.language import write_r_lang

log_job_to(snakemake.log[0])
write_r_lang(
    dict(zip(snakemake.params.languages, snakemake.input)),
    snakemake.params.mu,
    snakemake.output[0],
    delta_format=snakemake.params.delta_format,
)
