from pathlib import Path

from maec.workflow.joblog import log_job_to
from maec.world import WorldSizes, generate_world

log = log_job_to(snakemake.log[0])
generate_world(
    "results/world",
    seed=snakemake.params.seed,
    sizes=WorldSizes(**snakemake.params.generate),
    languages=snakemake.params.languages,
    abilities=snakemake.params.abilities,
)
missing = [p for p in snakemake.output if not Path(p).exists()]
if missing:
    raise FileNotFoundError(f"the world generator did not write {missing}")
log.info("wrote %d files", len(snakemake.output))
