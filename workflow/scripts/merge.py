from maec.combination.merge import write_merge
from maec.combination.similarity import read_selected
from maec.io.hf_dir import write_hf_directory
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_merge(
    snakemake.input.backbone,
    snakemake.input.r_a,
    snakemake.input.r_lang,
    read_selected(snakemake.input.similarity),
    snakemake.output.weights,
    gamma=snakemake.params.gamma,
    eta=snakemake.params.eta,
    dtype=snakemake.params.dtype,
    r_lang_mu=snakemake.params.mu,
    rounding_report=snakemake.output.rounding,
)
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
