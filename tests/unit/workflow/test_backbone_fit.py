"""Config values that must fit the backbone (maec.workflow.backbone_fit), checked while the
workflow plans against a tiny backbone on disk: each refusal names the key and the backbone."""

import copy

import pytest
from helpers.configs import SCHEMA
from helpers.tiny import save_tiny_model
from helpers.workflow import load_config
from snakemake.utils import validate

from maec.workflow import paths
from maec.workflow.backbone_fit import backbone_facts, check_fit_at_plan, facts_at_plan

pytestmark = pytest.mark.reliability

PAPER = load_config("config.yaml")
validate(PAPER, SCHEMA)  # the schema's defaults filled in, as the workflow has them


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working directory whose results/backbone is a tiny LLaMA (64 positions)."""
    root = tmp_path_factory.mktemp("plan")
    save_tiny_model(root / paths.BACKBONE)
    return root


def fitting(workdir) -> dict:
    config = copy.deepcopy(PAPER)
    config["tokenize"]["block_size"] = backbone_facts(workdir / paths.BACKBONE).max_positions
    return config


def test_a_config_that_fits_passes_and_no_backbone_on_disk_defers_the_checks(workdir, tmp_path):
    check_fit_at_plan(fitting(workdir), workdir)
    assert facts_at_plan(PAPER, tmp_path) is None  # a hub id, not downloaded yet
    check_fit_at_plan(PAPER, tmp_path)


def test_a_local_backbone_is_read_where_the_workflow_has_no_copy(workdir, tmp_path):
    config = fitting(workdir)
    config["backbone"] = str(workdir / paths.BACKBONE)
    facts = facts_at_plan(config, tmp_path)
    assert facts.where == str(workdir / paths.BACKBONE)
    assert "model.layers.0.mlp.up_proj.weight" in facts.sizes


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c["tokenize"].update(block_size=4096),
            "tokenize.block_size 4096 exceeds the backbone's max_position_embeddings",
        ),
        (
            lambda c: c["key_neurons"].update(include=["mlp\\.experts"]),
            "key_neurons.include ['mlp\\\\.experts'] and exclude [] select no tensor of the "
            "backbone",
        ),
        (
            lambda c: c["key_neurons"].update(k1=1e-9),
            "key_neurons.k1: ",
        ),
        (
            lambda c: c["experiments"]["beyond"]["revert"].update(k1=1e-9),
            "experiments.beyond.revert.k1: ",
        ),
    ],
)
def test_what_does_not_fit_the_backbone_is_refused_naming_key_and_backbone(
    workdir, change, message
):
    config = fitting(workdir)
    change(config)
    with pytest.raises(ValueError) as refused:
        check_fit_at_plan(config, workdir)
    assert message in str(refused.value)
    assert str(workdir / paths.BACKBONE) in str(refused.value)
