"""A kept model's card and provenance, in its directory and under results/cards."""

from maec.io.atomic import copy_file
from maec.io.lineage import describe, write_provenance
from maec.report.cards import (
    CardFacts,
    backbone_license,
    composition,
    model_card,
    read_scores,
    write_card,
)
from maec.workflow.intermediates import records_of_deleted
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
model_dir = snakemake.input.model
facts = CardFacts(
    **snakemake.params.facts,
    license=backbone_license(snakemake.input.backbone),
    composition=composition(snakemake.input.similarity),
    scores=read_scores(
        snakemake.input.scores, snakemake.params.hub_ids, snakemake.params.intervals
    ),
)
provenance = describe(
    model_dir,
    settings=snakemake.params.facts["settings"],
    workflow_dir=snakemake.params.workflow_dir,
    beside=records_of_deleted(snakemake.params.deleted),
)
copy_file(write_provenance(model_dir, provenance), snakemake.output.provenance)
write_card(model_dir, model_card(facts), snakemake.output.card)
