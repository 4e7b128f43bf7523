"""Config values that must fit the backbone (maec.workflow.backbone_fit), checked while the
workflow plans against a tiny backbone on disk: each refusal names the key and the backbone."""

import copy
import json

import pytest
import torch
from helpers.configs import SCHEMA
from helpers.tiny import save_tiny_model
from helpers.workflow import load_config
from safetensors.torch import save_file
from snakemake.utils import validate
from transformers import AutoConfig, AutoModelForCausalLM

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


@pytest.fixture(scope="module")
def phi3_workdir(tmp_path_factory):
    """A working directory whose backbone is a tiny Phi-3 (fused qkv_proj, gate_up_proj)."""
    root = tmp_path_factory.mktemp("phi3")
    config = AutoConfig.for_model(
        "phi3",
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(root / paths.BACKBONE)
    return root


def phi3_config(groups=None, targets=None) -> dict:
    config = copy.deepcopy(PAPER)
    config["tokenize"]["block_size"] = 128
    config["experiments"]["tensor_types"] = groups or {
        "attention": ["attention_qkv", "attention_o"],
        "mlp": ["mlp_gate_up", "mlp_down"],
    }
    lora = config["experiments"]["baselines"]["lora"]
    lora["target_modules"] = targets or ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
    return config


def test_a_phi3_backbone_fits_with_its_own_types_and_modules(phi3_workdir):
    check_fit_at_plan(phi3_config(), phi3_workdir)


def test_a_type_group_the_backbone_lacks_is_refused_naming_its_types(phi3_workdir):
    config = phi3_config(groups={"attention_q": ["attention_q"]})
    with pytest.raises(ValueError) as refused:
        check_fit_at_plan(config, phi3_workdir)
    message = str(refused.value)
    assert "experiments.tensor_types.attention_q: ['attention_q'] select no tensor" in message
    assert "attention_qkv" in message and "mlp_gate_up" in message


def test_lora_targets_that_adapt_nothing_are_refused_naming_the_projections(phi3_workdir):
    paper_targets = PAPER["experiments"]["baselines"]["lora"]["target_modules"]
    with pytest.raises(ValueError) as refused:
        check_fit_at_plan(phi3_config(targets=paper_targets), phi3_workdir)
    message = str(refused.value)
    assert "lora.target_modules[0]: 'q_proj' is no module of the backbone" in message
    assert "down_proj, gate_up_proj, o_proj, qkv_proj" in message


def test_a_backbone_of_no_known_architecture_is_named_while_planning(tmp_path):
    backbone = tmp_path / paths.BACKBONE
    backbone.mkdir(parents=True)
    save_file(
        {
            "model.embed_tokens.weight": torch.zeros(4, 2),
            "model.layers.0.mixer.in_proj.weight": torch.zeros(2, 2),
        },
        backbone / "model.safetensors",
    )
    (backbone / "config.json").write_text(json.dumps({"max_position_embeddings": 4096}))
    with pytest.raises(
        ValueError, match=r"config: backbone: the backbone .*: 1 tensor\(s\) of no known"
    ):
        check_fit_at_plan(PAPER, tmp_path)
