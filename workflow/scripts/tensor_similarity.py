from maec.combination.similarity import write_similarity_table
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_similarity_table(
    snakemake.input.r_a,
    snakemake.input.r_lang,
    snakemake.output[0],
    k2=snakemake.params.k2,
)
