"""An ability pack: R(A) stored sparse with the backbone, k1, α, β, corpora, training tokens
and mask densities it was made with."""

import json
from pathlib import Path

from maec.deltas.packs import write_ability_pack
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
runs = {"ability": snakemake.input.ability_run, "reference": snakemake.input.reference_run}
summaries = {role: json.loads(Path(run, "training.json").read_text()) for role, run in runs.items()}
write_ability_pack(
    snakemake.input.r_a,
    snakemake.input.backbone,
    snakemake.output[0],
    ability=snakemake.wildcards.ability,
    k1=snakemake.params.k1,
    corpora=snakemake.params.corpora,
    tokens={role: summary["tokens"] for role, summary in summaries.items()},
    mask_densities={role: summary["mask_density"] for role, summary in summaries.items()},
)
