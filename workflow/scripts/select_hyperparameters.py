from maec.joblog import log_job_to
from maec.tables import select_variant

log_job_to(snakemake.log[0])
select_variant(
    list(snakemake.input),
    snakemake.params.variants,
    snakemake.params.bench,
    snakemake.output[0],
    languages=snakemake.params.languages,
)
