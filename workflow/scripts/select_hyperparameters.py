from maec.report.tables import select_variant
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
select_variant(
    list(snakemake.input),
    snakemake.params.variants,
    snakemake.params.bench,
    snakemake.output[0],
    languages=snakemake.params.languages,
)
