"""The registry of model kinds: where each model lives, what it costs, which baselines it is
made of, and that a new kind is one entry."""

import copy

import pandas as pd
import pytest
from helpers.configs import REPO, shipped_config, with_translations

from maec.workflow import studies
from maec.workflow.model_names import (
    evaluation_inputs,
    merged_on_load,
    model_dir,
    model_training_runs,
    parse_model,
)
from maec.workflow.models import (
    MODEL_KINDS,
    Adaptation,
    BaselineCPT,
    LayerSwap,
    TaskVectors,
    baseline_of_run,
    find_kind,
)

PAPER = with_translations(shipped_config("config.yaml"))
LANGS = ["es", "zh", "bn", "te"]
GENERAL = "general_en+general_es+general_zh+general_bn+general_te"


@pytest.mark.parametrize(
    "model, seed, where",
    [
        ("backbone", "", "results/backbone"),
        ("maec_math", "", "results/merged/math.hf"),
        ("maec_math.k2-0.6", "seed-2/", "results/seed-2/merged/math/k2-0.6.hf"),
        ("fcpt_la_math", "", f"results/baselines/full/math_en+{GENERAL}"),
        ("lcpt_a_science", "seed-1/", "results/seed-1/baselines/lora/science_en"),
        ("fcpt_l_math", "", f"results/baselines/full/{GENERAL}"),
        ("fcpt_l_da_math", "", "results/baselines/full-da/math_en"),
        ("lcpt_l_da_science", "", "results/baselines/lora-da/science_en"),
        ("fcpt_lt_math", "", f"results/baselines/full/{GENERAL}+math_es+math_bn+math_te"),
        ("fcpt_t_math", "", "results/baselines/full/math_es+math_bn+math_te"),
        ("ftv_math", "", "results/baselines/tv/full_math.hf"),
        ("ltv_dare_math", "", "results/baselines/tv-dare/lora_math.hf"),
        ("lswap_science", "", "results/baselines/layer-swap/science.hf"),
        ("joint_math+science", "", "results/merged/math+science.hf"),
    ],
)
def test_every_kind_lives_where_its_rule_writes_it(model, seed, where):
    assert model_dir(PAPER, model, seed) == where


def test_a_merge_variant_is_evaluated_from_its_backbone_and_deltas_merged_on_load():
    seed = "seed-2/"
    assert evaluation_inputs(PAPER, "maec_math", seed) == {"model": "results/seed-2/merged/math.hf"}
    assert merged_on_load(PAPER, "maec_math") is None
    assert merged_on_load(PAPER, "fcpt_la_math") is None
    assert evaluation_inputs(PAPER, "maec_math.k2-0.6", seed) == {
        "backbone": "results/backbone",
        "r_a": "results/seed-2/deltas/ability/math.safetensors",
        "r_lang": "results/seed-2/deltas/r_lang.safetensors",
    }
    assert merged_on_load(PAPER, "maec_math.k2-0.6")["k2"] == 0.6
    ties = evaluation_inputs(PAPER, "maec_science.combine-ties", "")
    assert ties["languages"] == [f"results/deltas/language/{lang}.safetensors" for lang in LANGS]
    assert merged_on_load(PAPER, "maec_science.combine-ties")["combine"]["combine"] == "ties"
    assert studies.kept_variants(PAPER) == []  # experiments.keep_variants: false
    kept = copy.deepcopy(PAPER)
    kept["experiments"]["keep_variants"] = True
    assert "results/merged/math/k2-0.6.safetensors" in studies.kept_variants(kept)


def test_reference_models_are_downloaded_unless_they_are_workflow_outputs():
    config = copy.deepcopy(PAPER)
    config["experiments"]["reference_models"] = {
        "mistral_7b": {"source": "mistralai/Mistral-7B-v0.1", "label": None},
        "init": {"source": "results/backbone_init", "label": "Backbone before pretraining"},
    }
    assert model_dir(config, "reference-mistral_7b") == "results/reference/mistral_7b"
    assert model_dir(config, "reference-init") == "results/backbone_init"


@pytest.mark.parametrize(
    "model, seed, message",
    [
        ("backbone", "seed-1/", "is not trained, so it has no seed"),
        ("maec_code", "", "'code' is not in abilities"),
        ("maec_math.types-embeddings", "", "not a name of experiments.tensor_types"),
        ("reference-gpt4", "", "'gpt4' is not in experiments.reference_models"),
        ("fcpt_t_math", "", "abilities.math.translated_corpora is empty"),
    ],
)
def test_a_model_the_config_does_not_build_is_named(model, seed, message):
    config = shipped_config("config.yaml")
    del config["translation"]  # no translated corpora
    with pytest.raises(ValueError, match=message):
        model_dir(config, model, seed)


def test_a_joint_model_of_other_abilities_is_refused():
    config = copy.deepcopy(PAPER)
    config["abilities"]["code"] = copy.deepcopy(config["abilities"]["math"])
    with pytest.raises(ValueError, match="experiments.beyond.joint gives the abilities"):
        model_dir(config, "joint_math+science")


def test_each_model_costs_its_own_runs_and_those_it_is_made_of():
    tokens = PAPER["experiments"]["baselines"]["tokens"]
    masked = PAPER["masked_cpt"]["tokens"]
    assert model_training_runs(PAPER, "backbone") == {}
    assert model_training_runs(PAPER, "fcpt_a_math") == {
        "results/baselines/full/math_en": tokens["fcpt_a"]
    }
    assert model_training_runs(PAPER, "fcpt_l_da_math") == {
        f"results/baselines/full/{GENERAL}": tokens["fcpt_l"],
        "results/baselines/full-da/math_en": tokens["fcpt_l_da"],
    }
    assert set(model_training_runs(PAPER, "ltv_ties_math").values()) == {
        tokens["lcpt_a"],
        tokens["lcpt_l"],
    }
    maec = model_training_runs(PAPER, "maec_math")
    assert len(maec) == 6 and set(maec.values()) == {masked}  # 6 masked CPT runs
    joint = model_training_runs(PAPER, "joint_math+science")
    assert len(joint) == 7  # both ability runs, the shared reference and language runs


def test_the_token_budgets_are_the_papers_table2():
    """#Tokens of every Table 2 row of the paper, from the registry's accounting alone."""
    budget = pd.DataFrame(studies.token_budget(PAPER))
    planned = budget.groupby(["row", "ability"])["tokens"].sum() / 1e9
    paper = pd.read_csv(
        REPO / "tests" / "fixtures" / "paper_table2.tsv",
        sep="\t",
        comment="#",
        na_values="-",
        index_col="method",
    )
    rows = paper["tokens_b"].dropna()
    assert len(rows) == 12  # MAEC and every baseline of the paper's Table 2
    for row, billions in rows.items():
        for ability in ("math", "science"):
            assert planned[(row, ability)] == pytest.approx(billions), (row, ability)


def test_the_rules_find_the_kind_of_their_wildcards():
    assert baseline_of_run(PAPER, "full", f"{GENERAL}+math_es+math_bn+math_te").kind == "fcpt_lt"
    assert baseline_of_run(PAPER, "lora", "science_en").kind == "lcpt_a"
    with pytest.raises(ValueError, match="no baseline of the config trains on general_en"):
        baseline_of_run(PAPER, "full", "general_en")
    assert find_kind(Adaptation, tuning="lora").kind == "lcpt_l_da"
    assert find_kind(TaskVectors, tuning="full", merge_method=None).kind == "ftv"
    assert find_kind(TaskVectors, tuning="lora", merge_method="dare").kind == "ltv_dare"
    assert find_kind(LayerSwap).kind == "lswap"
    with pytest.raises(ValueError, match="no TaskVectors kind"):
        find_kind(TaskVectors, tuning="full", merge_method="slerp")


def test_every_kind_names_the_baselines_it_is_made_of_and_they_are_baselines():
    for kind in MODEL_KINDS.values():
        for baseline in kind.baselines():
            assert isinstance(MODEL_KINDS[baseline], (BaselineCPT, Adaptation)), kind.kind
    assert MODEL_KINDS["fcpt_l_da"].baselines() == ("fcpt_l", "fcpt_l_da")
    assert MODEL_KINDS["lswap"].baselines() == ("fcpt_a", "fcpt_l")
    assert MODEL_KINDS["maec"].baselines() == ()


def test_a_new_row_kind_is_one_registry_entry(monkeypatch):
    """Full CPT on the ability corpus and its translations: one entry, a budget and a row;
    the baseline rule's wildcards find it, Table 2 lists it and counts its run."""
    entry = BaselineCPT("fcpt_at", "F-CPT_{A&T}", "full", ("ability", "translated"))
    monkeypatch.setitem(MODEL_KINDS, "fcpt_at", entry)
    config = copy.deepcopy(PAPER)
    config["experiments"]["rows"].append("fcpt_at")
    config["experiments"]["baselines"]["tokens"]["fcpt_at"] = 6_000_000_000
    run = "math_en+math_es+math_bn+math_te"
    assert model_dir(config, "fcpt_at_math") == f"results/baselines/full/{run}"
    assert baseline_of_run(config, "full", run) is entry
    assert ("fcpt_at_math", "mgsm", "F-CPT_{A&T}") in studies.table2_entries(config)
    budget = [r for r in studies.token_budget(config) if r["row"] == "F-CPT_{A&T}"]
    assert [r["tokens"] for r in budget] == [6_000_000_000, 6_000_000_000]
    assert entry.description == "full CPT on the ability corpus and the translated ability corpora"
    assert parse_model("fcpt_at_science").kind == "fcpt_at"
