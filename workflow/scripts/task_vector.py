from maec.io.hf_dir import write_hf_directory
from maec.merge_methods.task_arithmetic import write_task_vector_merge
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_task_vector_merge(
    snakemake.input.backbone,
    [snakemake.input.ability_model, snakemake.input.language_model],
    snakemake.output.weights,
    scale=snakemake.params.scale,
)
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
