"""Which models get a card, and the settings, languages and data sets it records."""

import copy

from helpers.configs import shipped_config, with_translations

from maec.workflow import cards, targets
from maec.workflow.paths import parse_path

PAPER = shipped_config("config.yaml")
DEMO = shipped_config("demo.yaml")


def test_the_default_target_cards_each_abilitys_maec_model_of_every_seed():
    config = copy.deepcopy(DEMO) | {"seeds": 2}
    outputs = cards.card_outputs(config, experiments=False)
    assert outputs == [
        "results/cards/maec_math.md",
        "results/cards/maec_science.md",
        "results/seed-1/cards/maec_math.md",
        "results/seed-1/cards/maec_science.md",
    ]
    assert set(outputs) <= set(targets.default_target(config))
    assert parse_path(outputs[2]) == ("card", {"seed_dir": "seed-1/", "model": "maec_math"})


def test_experiments_card_every_kept_model_but_no_variant_backbone_or_reference():
    models = cards.carded_models(PAPER)
    assert {"maec_math", "fcpt_la_math", "lcpt_l_da_science", "joint_math+science"} <= set(models)
    assert {"ftv_ties_math", "lswap_math"} <= set(models)
    # F-TV, L-TV and Layer Swapping deleted after use get no card
    deleting = copy.deepcopy(PAPER) | {"keep_intermediates": False}
    assert not {m for m in cards.carded_models(deleting) if m.startswith(("ftv", "ltv", "lswap"))}
    assert not [m for m in models if "." in m or m == "backbone" or m.startswith("reference")]
    assert set(cards.card_outputs(PAPER)) <= set(targets.experiments_target(PAPER))


def test_a_run_shared_by_two_abilities_gets_one_card_with_both_abilities_scores():
    models = cards.carded_models(PAPER)
    assert "fcpt_l_math" in models and "fcpt_l_science" not in models  # one directory
    assert cards.sharing_models(PAPER, "fcpt_l_math") == ["fcpt_l_math", "fcpt_l_science"]
    assert cards.sharing_models(PAPER, "fcpt_a_math") == ["fcpt_a_math"]
    assert cards.card_abilities(PAPER, "fcpt_l_math") == ["math", "science"]
    scores = cards.card_scores(PAPER, "fcpt_l_math", "seed-1/")
    assert "results/seed-1/eval/fcpt_l_math/mgsm_bn.json" in scores
    assert "results/seed-1/eval/fcpt_l_science/mmlu_bn.json" in scores
    facts = cards.card_facts(PAPER, "fcpt_l_math", "results/backbone")
    assert facts["name"] == "fcpt_l_math, fcpt_l_science"
    assert list(facts["settings"]["abilities"]) == ["math", "science"]


def test_a_maec_cards_settings_are_every_section_on_its_path():
    settings = cards.card_settings(PAPER, "maec_math")
    assert settings["key_neurons"]["k1"] == PAPER["key_neurons"]["k1"]
    assert settings["merge"] == PAPER["merge"] and settings["masked_cpt"] == PAPER["masked_cpt"]
    assert settings["mu"] == {"es": 1.5, "zh": 1.0, "bn": 1.2, "te": 1.2}
    assert settings["k2"] == {"math": PAPER["abilities"]["math"]["k2"]}
    assert list(settings["abilities"]) == ["math"]
    changed = copy.deepcopy(PAPER)
    changed["key_neurons"]["k1"] = 0.1
    assert cards.card_settings(changed, "maec_math")["key_neurons"]["k1"] == 0.1
    changed["training"].update(micro_batch_size=1, save_every_steps=7, log_every_steps=3)
    cadence_only = cards.card_settings(changed, "maec_math")["training"]
    assert cadence_only == cards.card_settings(PAPER, "maec_math")["training"]  # how, not what


def test_a_baselines_settings_leave_out_the_methods_and_name_its_budget():
    settings = cards.card_settings(PAPER, "fcpt_la_math")
    assert "key_neurons" not in settings and "merge" not in settings
    assert (
        settings["baselines"]["tokens"]["fcpt_la"]
        == PAPER["experiments"]["baselines"]["tokens"]["fcpt_la"]
    )
    ties = cards.card_settings(PAPER, "ftv_ties_math")
    assert ties["merge_method"]["combine"] == "ties"


def test_relations_facts_and_scores():
    assert cards.relation("maec_math") == "merge" and cards.relation("ftv_math") == "merge"
    assert (
        cards.relation("fcpt_la_math") == "finetune"
        and cards.relation("lcpt_l_da_math") == "finetune"
    )
    facts = cards.card_facts(PAPER, "maec_math", "results/backbone", "seed-1/")
    assert facts["base_model"] == "meta-llama/Meta-Llama-3-8B"
    assert facts["languages"] == ["en", "es", "zh", "bn", "te"]
    assert facts["settings"]["training_seed"] == PAPER["training"]["seed"] + 1
    assert len(facts["corpora"]) == 6  # the masked runs
    assert (
        cards.card_facts(DEMO, "maec_math", "results/backbone")["base_model"] == "results/backbone"
    )
    assert cards.card_scores(PAPER, "joint_math+science") == [
        f"results/eval/joint_math+science/{bench}_{lang}.json"
        for bench in ("mgsm", "mmlu")
        for lang in PAPER["evaluation"][bench]["languages"]
    ]
    assert cards.card_similarity(PAPER, "maec_math", "seed-1/") == [
        "results/seed-1/similarity/math.tsv"
    ]
    assert cards.card_similarity(PAPER, "fcpt_a_math") == []


def test_datasets_are_the_hub_corpora_the_models_runs_train_on():
    general = [PAPER["general_corpora"][lang]["source"] for lang in PAPER["general_corpora"]]
    math = PAPER["abilities"]["math"]["corpus"]["source"]
    assert set(cards.card_datasets(PAPER, "maec_math")) == {*general, math}
    assert set(cards.card_datasets(PAPER, "fcpt_l_math")) == set(general)  # no ability corpus
    assert cards.card_datasets(PAPER, "fcpt_a_math") == [math]
    translated = with_translations(PAPER)  # hub ids of translations
    assert "mt-output/math-bn" in cards.card_datasets(translated, "fcpt_t_math")
    assert "mt-output/math-bn" not in cards.card_datasets(translated, "maec_math")
    assert cards.card_datasets(DEMO, "maec_math") == []  # the world's files
