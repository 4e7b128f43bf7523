from maec.joblog import log_job_to
from maec.masks import union_masks

log_job_to(snakemake.log[0])
union_masks(list(snakemake.input), snakemake.output[0])
