"""The workflow's two targets, each with the cards of the models it keeps: the default
(`rule all`: the MAEC models, the results table and its pictures) and `experiments` (every
table and figure of the paper and beyond). Pure Python, functions of the validated config."""

from maec.workflow import cards, studies


def default_target(config) -> list[str]:
    return studies.final_outputs(config) + cards.card_outputs(config, experiments=False)


def experiments_target(config) -> list[str]:
    return studies.experiment_outputs(config) + cards.card_outputs(config)
