"""What each table compares, labels and costs, and the targets that gather them."""

import copy

from helpers.configs import shipped_config, with_translations

from maec.workflow import studies

PAPER = shipped_config("config.yaml")
TRANSLATED = with_translations(PAPER)


def test_table2_lists_the_references_the_backbone_then_the_rows_in_order():
    labels = studies.table2_order(TRANSLATED)
    references = [
        spec["label"] or name for name, spec in PAPER["experiments"]["reference_models"].items()
    ]
    assert labels[: len(references) + 1] == [*references, "Backbone"]
    assert labels[len(references) + 1 :] == [
        "F-CPT_{L&A}",
        "L-CPT_{L&A}",
        "F-CPT_A",
        "F-CPT_L",
        "L-CPT_L",
        "F-CPT_L & DA",
        "L-CPT_L & DA",
        "F-CPT_{L&T}",
        "F-CPT_T",
        "F-TV",
        "L-TV",
        "MAEC",
    ]
    assert studies.table2_focus(TRANSLATED) == "MAEC"


def test_without_translated_corpora_the_translation_rows_are_left_out():
    config = copy.deepcopy(PAPER)
    del config["translation"]
    labels = set(studies.table2_order(config))
    assert "F-CPT_T" not in labels and "F-CPT_{L&T}" not in labels
    assert "F-CPT_T" not in {r["row"] for r in studies.token_budget(config)}
    assert {"F-CPT_T", "F-CPT_{L&T}"} <= set(studies.table2_order(PAPER))  # translated by NLLB


def test_each_seed_scores_the_trained_models_and_the_backbone_once():
    config = PAPER | {"seeds": 3}
    scored = studies.table2_scores(config)
    backbone = [p for _, p in scored if "/backbone/" in p]
    assert len(backbone) == len(set(backbone))  # once, under the first seed
    maec = [(s, p) for s, p in scored if "/maec_math/" in p]
    first = PAPER["training"]["seed"]
    assert {s for s, _ in maec} == {first, first + 1, first + 2}
    assert any(p.startswith(f"results/seed-{first + 2}/eval/maec_math/") for _, p in maec)


def test_the_studies_compare_variants_of_maec_with_the_backbone():
    labels = studies.study_labels(PAPER, "ablation", "math")
    assert list(labels.values()) == [
        "Backbone",
        "MAEC",
        "no key neurons",
        "no ability weights",
        "no tensor identification",
        "no ability combination",
    ]
    assert "maec_math.plain-ra" in labels
    k2 = studies.study_scores(PAPER, "k2", "math")
    assert not any("/maec_math/" in p for p in k2)  # MAEC's own k2 is a point of the grid
    table8 = studies.study_labels(PAPER, "table8", "science")
    assert table8["maec_science"] == studies.TABLE8_ALL
    groups = PAPER["experiments"]["tensor_types"]
    assert len(studies.study_scores(PAPER, "merge_by_type", "science")) == (
        (2 + len(groups)) * len(PAPER["evaluation"]["mmlu"]["languages"])
    )


def test_the_beyond_table_keeps_the_rows_whose_baselines_are_trained():
    labels = [label for _, label in studies.beyond_entries(PAPER, "math")]
    assert labels[:6] == [
        "Backbone",
        "MAEC",
        "MAEC TIES",
        "MAEC DARE",
        "MAEC revert",
        "w/o key neurons",
    ]
    assert "L-TV DARE" in labels and labels[-1] == "MAEC math+science"
    config = copy.deepcopy(PAPER)
    config["experiments"]["rows"] = ["fcpt_a", "maec"]  # F-CPT_L is not trained
    labels = [label for _, label in studies.beyond_entries(config, "math")]
    assert not any("TV" in label or label == "Layer swap" for label in labels)
    runs = studies.beyond_training(PAPER, "math")["Layer swap"]["mgsm"]
    assert runs == sorted(
        [
            "results/baselines/full/math_en",
            "results/baselines/full/"
            + "+".join(f"general_{lang}" for lang in ["en", "es", "zh", "bn", "te"]),
        ]
    )


def test_the_ablation_abilities_leave_out_the_others_studies_only():
    config = copy.deepcopy(PAPER)
    config["experiments"]["ablation_abilities"] = ["math"]
    everything = set(studies.experiment_outputs(PAPER))
    left_out = everything - set(studies.experiment_outputs(config))
    assert left_out == {
        "results/figures/ablation_science.png",
        "results/figures/k2_science.png",
        "results/tables/table8_science.md",
        "results/tables/merge_by_type_science.md",
    }


def test_the_default_target_holds_every_seeds_model():
    config = PAPER | {"seeds": 2}
    outputs = studies.final_outputs(config)
    assert "results/merged/math.safetensors" in outputs
    assert "results/seed-1/merged/science.safetensors" in outputs
    assert outputs[-4:] == [
        "results/tables/results.csv",
        "results/tables/results.md",
        "results/figures/results_math.png",
        "results/figures/results_science.png",
    ]


def test_table3_compares_its_models_with_the_backbone():
    ood = PAPER["experiments"]["ood"]
    models = studies.ood_models(PAPER)
    assert models[0] == "backbone" and len(models) == 1 + len(ood["models"])
    assert studies.ood_labels(PAPER)["backbone"] == "Backbone"
    assert "models" not in studies.ood_settings(PAPER)


def test_figure5_compares_every_corpus_with_the_reference_language_first():
    assert studies.figure5_corpora(PAPER)[0] == "general_en"
    pairs = studies.figure5_pairs(PAPER)
    assert ("general_en", "general_zh") in pairs and ("general_en", "math_en") in pairs
    assert len(pairs) == len(studies.figure5_corpora(PAPER)) - 1
    assert studies.figure5_runs(PAPER) == [
        "general_en",
        "math_en+general_en",
        "science_en+general_en",
    ]
    config = copy.deepcopy(PAPER)
    config["experiments"]["figure5"] = {"corpora": ["general_zh", "general_en"], "runs": None}
    assert studies.figure5_pairs(config) == [("general_zh", "general_en")]


def test_table6_counts_every_training_corpus_and_the_backbones_items():
    assert set(studies.table6_corpora(TRANSLATED)) >= {"general_te", "math_en", "math_bn"}
    assert all("/eval/backbone/" in path for path in studies.table6_scores(PAPER))
