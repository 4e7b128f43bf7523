"""maec.workflow.config_checks on the shipped configs, filled in by the schema as the workflow fills
them; each broken config is refused naming its key (the workflow-level cases are in
test_workflow_plan.py)."""

import copy

import pytest
from snakemake.utils import validate
from workflow_helpers import REPO, load_config

from maec.workflow.config_checks import check_config, selection_abilities

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def validated(name: str) -> dict:
    config = load_config(name)
    validate(config, SCHEMA)
    return config


@pytest.mark.parametrize("name", ["config.yaml", "demo.yaml"])
def test_shipped_configs_pass(name):
    config = validated(name)
    check_config(config)
    assert selection_abilities(config) == config["experiments"]["selection"].get(
        "abilities", list(config["abilities"])
    )


BROKEN = {
    "reference language among the targets": (
        lambda c: c["languages"].append("en"),
        "languages lists the reference language 'en'",
    ),
    "a language code no rule builds": (
        lambda c: c["evaluation"]["mgsm"]["languages"].append("pt-BR"),
        r"evaluation\.mgsm\.languages\[5\]: 'pt-BR' is not a language code",
    ),
    "mu for a language not in languages": (
        lambda c: c["language_weights"]["mu"].update(fr=1.0),
        r"language_weights\.mu\.fr names a language not in languages",
    ),
    "an averaged language not scored": (
        lambda c: c["abilities"]["science"].update(average=["es", "zh"]),
        r"abilities\.science\.average names 'zh'",
    ),
    "a joint model of one ability": (
        lambda c: c["experiments"]["beyond"].update(joint=["math"]),
        r"experiments\.beyond\.joint lists \['math'\]: a joint model needs two",
    ),
    "a joint model of an unknown ability": (
        lambda c: c["experiments"]["beyond"].update(joint=["math", "code"]),
        r"experiments\.beyond\.joint names 'code', which is not in abilities",
    ),
    "ablations for an unknown ability": (
        lambda c: c["experiments"].update(ablation_abilities=["math", "code"]),
        r"experiments\.ablation_abilities names 'code', which is not in abilities",
    ),
    "a selection for an unknown ability": (
        lambda c: c["experiments"]["selection"].update(abilities=["chemistry"]),
        r"experiments\.selection\.abilities names 'chemistry', which is not in abilities",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_configs_are_refused_naming_the_key(case):
    config = validated("config.yaml")
    break_it, message = BROKEN[case]
    broken = copy.deepcopy(config)
    break_it(broken)
    with pytest.raises(ValueError, match=message):
        check_config(broken)
