from maec.combination.merge import write_merge
from maec.combination.similarity import read_selected, write_similarity_table
from maec.combination.terms import eq5_terms
from maec.io.hf_dir import write_hf_directory
from maec.io.reader import open_checkpoint
from maec.merge_methods import merge_method
from maec.workflow.joblog import log_job_to

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
selected = read_selected(snakemake.output.similarity)
if "combine" in settings:
    # Eq. 5's terms (γR(A) on T, μ_i η R(Li) on T, μ_i R(Li) elsewhere) by TIES or DARE
    combine = dict(settings["combine"])
    method = merge_method(combine.pop("combine"))
    languages = dict(zip(settings["mu"], snakemake.input.languages))  # both in config order
    names = open_checkpoint(snakemake.input.backbone).names
    terms = eq5_terms(
        snakemake.input.r_a,
        languages,
        settings["mu"],
        selected,
        names,
        gamma=settings["gamma"],
        eta=settings["eta"],
    )
    method.write(
        snakemake.input.backbone,
        terms,
        snakemake.output.weights,
        dtype=settings["dtype"],
        **combine,
    )
else:
    write_merge(
        snakemake.input.backbone,
        snakemake.input.r_a,
        snakemake.input.r_lang,
        selected,
        snakemake.output.weights,
        gamma=settings["gamma"],
        eta=settings["eta"],
        dtype=settings["dtype"],
        r_lang_mu=settings["mu"],
    )
write_hf_directory(snakemake.output.weights, snakemake.input.backbone, snakemake.output.model)
