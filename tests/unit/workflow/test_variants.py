"""Merge variants: what each name changes in Eq. 3 and Eq. 5, and what the merge reads."""

import copy

import pytest
from helpers.configs import shipped_config

from maec.workflow import variants

PAPER = shipped_config("config.yaml")
MERGE = PAPER["merge"]


def test_a_plain_variant_changes_only_what_it_names():
    settings = variants.variant_settings(PAPER, "math", "k2-0.6")
    assert settings == dict(
        k2=0.6,
        gamma=MERGE["gamma"],
        eta=MERGE["eta"],
        mu=None,
        types=None,
        within=None,
        ability_weights="ability",
        deltas="deltas",
    )
    grid = variants.variant_settings(PAPER, "science", "gamma-0.5,eta-1.0,k2-0.8,mu-1.2")
    assert (grid["gamma"], grid["eta"], grid["k2"], grid["mu"]) == (0.5, 1.0, 0.8, "1.2")


@pytest.mark.parametrize(
    "variant, key, value",
    [
        ("full", "deltas", "deltas-full"),
        ("plain-ra", "ability_weights", "ability-plain"),
        ("revert", "ability_weights", "ability-revert"),
        ("types-mlp", "types", ["mlp_gate", "mlp_up", "mlp_down"]),
        (
            "within-attention",
            "within",
            ["attention_q", "attention_k", "attention_v", "attention_o"],
        ),
    ],
)
def test_the_ablations_and_tensor_groups_read_other_deltas_or_tensors(variant, key, value):
    config = copy.deepcopy(PAPER)
    config["experiments"]["tensor_types"] = {
        "mlp": ["mlp_gate", "mlp_up", "mlp_down"],
        "attention": ["attention_q", "attention_k", "attention_v", "attention_o"],
    }
    assert variants.variant_settings(config, "math", variant)[key] == value


def test_an_unknown_tensor_group_is_named():
    with pytest.raises(ValueError, match="cannot read 'types-nothing'"):
        variants.variant_settings(PAPER, "math", "types-nothing")


def test_a_combined_variant_reads_the_language_deltas_and_its_methods_settings():
    inputs = variants.variant_inputs(PAPER, "math", "combine-ties", "seed-2/")
    assert inputs["r_a"] == "results/seed-2/deltas/ability/math.safetensors"
    assert inputs["languages"] == [
        f"results/seed-2/deltas/language/{lang}.safetensors" for lang in PAPER["languages"]
    ]
    settings = variants.variant_merge_settings(PAPER, "math", "combine-ties")
    beyond = PAPER["experiments"]["beyond"]
    assert settings["combine"] == dict(
        combine="ties", tie_seed=PAPER["key_neurons"]["tie_seed"], **beyond["ties"]
    )
    dare = variants.variant_merge_settings(PAPER, "math", "combine-dare")["combine"]
    assert dare == dict(combine="dare", **beyond["dare"])
    # only a combined variant carries the key (the other variants' params stay as they were)
    assert "combine" not in variants.variant_merge_settings(PAPER, "math", "k2-0.6")


def test_a_uniform_mu_names_its_r_lang_and_is_checked_against_it():
    inputs = variants.variant_inputs(PAPER, "math", "mu-1.2", "")
    assert inputs["r_lang"] == "results/deltas/r_lang-mu-1.2.safetensors"
    settings = variants.variant_merge_settings(PAPER, "math", "mu-1.2")
    assert settings["mu"] == {lang: 1.2 for lang in PAPER["languages"]}
    assert variants.variant_merge_settings(PAPER, "math", "k2-0.6")["mu"] == (
        variants.language_mu(PAPER)
    )


def test_languages_without_a_mu_get_one():
    config = copy.deepcopy(PAPER)
    config["language_weights"]["mu"] = {"es": 0.5}
    assert variants.language_mu(config) == {"es": 0.5, "zh": 1.0, "bn": 1.0, "te": 1.0}


def test_the_selection_grid_in_grid_order():
    config = copy.deepcopy(PAPER)
    config["experiments"]["selection"] |= dict(gamma=[0.2, 0.5], eta=[1.0], k2=[0.6, 0.8], mu=[1])
    assert variants.selection_variants(config) == [
        "gamma-0.2,eta-1.0,k2-0.6,mu-1.0",
        "gamma-0.2,eta-1.0,k2-0.8,mu-1.0",
        "gamma-0.5,eta-1.0,k2-0.6,mu-1.0",
        "gamma-0.5,eta-1.0,k2-0.8,mu-1.0",
    ]


def test_the_revert_cuts_at_the_masks_k1_unless_told_otherwise():
    config = copy.deepcopy(PAPER)
    assert variants.revert_settings(config)["k1"] == PAPER["key_neurons"]["k1"]
    config["experiments"]["beyond"]["revert"]["k1"] = 0.2
    assert variants.revert_settings(config)["k1"] == 0.2
