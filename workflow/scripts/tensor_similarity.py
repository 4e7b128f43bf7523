from maec.joblog import log_job_to
from maec.similarity import write_similarity_table

log_job_to(snakemake.log[0])
write_similarity_table(
    snakemake.input.r_a,
    snakemake.input.r_lang,
    snakemake.output[0],
    k2=snakemake.params.k2,
)
