from maec.io.hf_dir import write_hf_directory
from maec.joblog import log_job_to
from maec.merge import write_merge
from maec.similarity import read_selected, write_similarity_table

log_job_to(snakemake.log[0])
settings = snakemake.params.settings
write_similarity_table(
    snakemake.input.r_a,
    snakemake.input.r_lang,
    snakemake.output.similarity,
    k2=settings["k2"],
    types=settings["types"],
    within=settings["within"],
)
write_merge(
    snakemake.input.backbone,
    snakemake.input.r_a,
    snakemake.input.r_lang,
    read_selected(snakemake.output.similarity),
    snakemake.output.weights,
    gamma=settings["gamma"],
    eta=settings["eta"],
    dtype=settings["dtype"],
    r_lang_mu=settings["mu"],
)
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
