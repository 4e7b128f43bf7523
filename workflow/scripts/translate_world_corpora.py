"""The demo world's ability corpora in the target languages (F-CPT_{L&T}, F-CPT_T)."""

from maec.workflow.joblog import log_job_to
from maec.world import WorldSizes, translate_ability_corpora

log = log_job_to(snakemake.log[0])
written = translate_ability_corpora(
    snakemake.params.paths,
    seed=snakemake.params.seed,
    sizes=WorldSizes(**snakemake.params.generate),
)
log.info("wrote %d translated corpora", len(written))
