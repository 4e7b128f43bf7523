from maec.io.hf_dir import write_hf_directory
from maec.merge_methods.layer_swap import write_layer_swap
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_layer_swap(
    snakemake.input.ability_model,
    snakemake.input.language_model,
    snakemake.output.weights,
    bottom=snakemake.params.bottom,
    top=snakemake.params.top,
    transition=snakemake.params.transition,
)
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
