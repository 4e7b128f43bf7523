from maec.keyneurons.masks import union_masks
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
union_masks(list(snakemake.input), snakemake.output[0])
