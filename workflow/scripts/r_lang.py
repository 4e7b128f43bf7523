from maec.deltas.language import write_r_lang
from maec.io.lineage import write_record
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_r_lang(
    dict(zip(snakemake.params.languages, snakemake.input)),
    snakemake.params.mu,
    snakemake.output[0],
    delta_format=snakemake.params.delta_format,
)
write_record(snakemake.output[0], snakemake.output.lineage)
