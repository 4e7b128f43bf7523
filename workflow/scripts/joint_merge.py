from maec.combination.multi_ability import AbilityPart, write_multi_ability_merge
from maec.combination.similarity import read_selected
from maec.io.hf_dir import write_hf_directory
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
gamma = snakemake.params.gamma
parts = {
    ability: AbilityPart(r_a, frozenset(read_selected(similarity)), gamma[ability])
    for ability, r_a, similarity in zip(gamma, snakemake.input.r_a, snakemake.input.similarity)
}
write_multi_ability_merge(
    snakemake.input.backbone,
    parts,
    snakemake.input.r_lang,
    snakemake.output.weights,
    eta=snakemake.params.eta,
    dtype=snakemake.params.dtype,
    r_lang_mu=snakemake.params.mu,
)
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
