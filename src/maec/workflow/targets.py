"""The workflow's two targets, each with the cards of the models it keeps: the default
(`rule all`: the MAEC models, the results table and its pictures) and `experiments` (every
table and figure of the paper and beyond). Pure Python, functions of the validated config."""

from maec.workflow import cards, intermediates, studies
from maec.workflow.paths import table


def default_target(config) -> list[str]:
    return (
        studies.final_outputs(config)
        + made_before_deletion(config)
        + cards.card_outputs(config, experiments=False)
    )


def made_before_deletion(config) -> list[str]:
    """What reads an intermediate that only training makes again: Figure 5b/c compares the
    importance runs, so a run that deletes them after the masks makes the figure's table
    first (else `experiments` after the default target would train them again)."""
    if "importance" not in intermediates.deleted_templates(config):
        return []
    return [table("update_similarity", "csv")]


def experiments_target(config) -> list[str]:
    return studies.experiment_outputs(config) + cards.card_outputs(config)
