"""Corpus and run names and what the config says of each, on the paper's configuration."""

import copy

import pytest
from helpers.configs import shipped_config, with_translations

from maec.workflow import corpora

PAPER = shipped_config("config.yaml")


@pytest.mark.parametrize("kind, lang", [("general", "en"), ("math", "es419"), ("code2", "te")])
def test_corpus_names_round_trip(kind, lang):
    name = corpora.corpus_name(kind, lang)
    assert corpora.parse_corpus(name) == (kind, lang)


@pytest.mark.parametrize("name", ["general", "_en", "math_", "mathen"])
def test_a_bad_corpus_name_is_named(name):
    with pytest.raises(ValueError, match=f"corpus name {name!r}"):
        corpora.parse_corpus(name)


def test_run_names_round_trip():
    run = ["math_en", "general_en"]
    assert corpora.run_corpora(corpora.run_name(run)) == run


def test_the_method_runs_of_the_paper():
    assert corpora.all_languages(PAPER) == ["en", "es", "zh", "bn", "te"]
    assert corpora.ability_run(PAPER, "math") == "math_en+general_en"
    assert corpora.reference_run(PAPER) == "general_en"
    assert corpora.language_run(PAPER, "bn") == "general_bn+general_en"
    plain = PAPER | {"language_weights": PAPER["language_weights"] | {"mode": "plain"}}
    assert corpora.language_run(plain, "bn") == "general_bn"
    assert corpora.masked_runs(PAPER, "science") == [
        "science_en+general_en",
        "general_en",
        *(f"general_{lang}+general_en" for lang in ["es", "zh", "bn", "te"]),
    ]
    assert corpora.all_corpora(PAPER)[-2:] == ["math_en", "science_en"]


def test_each_corpus_of_a_mixture_gets_its_roles_weight():
    weights = PAPER["masked_cpt"]["mixture"]
    assert corpora.run_mixture(PAPER, "math_en+general_en") == [
        weights["ability"],
        weights["reference"],
    ]
    assert corpora.run_mixture(PAPER, "general_es+general_en") == [
        weights["language"],
        weights["reference"],
    ]


def test_a_corpus_is_found_in_the_config_under_its_key():
    config = with_translations(PAPER)
    assert corpora.corpus_config(config, "general_es") is config["general_corpora"]["es"]
    assert corpora.corpus_config(config, "math_en") is config["abilities"]["math"]["corpus"]
    translated = config["abilities"]["math"]["translated_corpora"]["bn"]
    assert corpora.corpus_config(config, "math_bn") is translated
    assert corpora.corpus_key(config, "general_es") == "general_corpora.es"
    assert corpora.corpus_key(config, "math_en") == "abilities.math.corpus"
    assert corpora.translated_corpora(config, "math") == ["math_es", "math_bn", "math_te"]
    assert set(corpora.corpus_reading(config, "math_en")) == {
        "source",
        "name",
        "data_files",
        "split",
        "text_field",
    }


def test_local_sources_are_connected_hub_ids_are_not(tmp_path):
    local = tmp_path / "corpus.jsonl"
    local.write_text("{}\n")
    assert corpora.is_local_path(str(local))
    assert corpora.is_local_path("results/world/corpora/general_en.jsonl")
    assert not corpora.is_local_path("uonlp/CulturaX")


def test_the_ability_run_on_its_own_corpus_trains_n_l0_too():
    """Section 4.1's mixture (the default) or Algorithm 1's ability corpus alone: the mask
    is N_A ∪ N_L0 either way; every other run trains its own corpora's key neurons."""
    assert corpora.run_mask(PAPER, corpora.ability_run(PAPER, "math")) == ["math_en", "general_en"]
    alone = PAPER | {"masked_cpt": PAPER["masked_cpt"] | {"ability_run": "ability"}}
    assert corpora.ability_run(alone, "math") == "math_en"
    assert corpora.run_mask(alone, "math_en") == ["math_en", "general_en"]
    assert corpora.run_mask(alone, "general_en") == ["general_en"]
    assert corpora.run_mask(alone, "general_bn+general_en") == ["general_bn", "general_en"]


def test_the_baselines_mix_with_their_own_weights():
    weights = {"ability": 2.0, "reference": 0.5, "language": 1.0}
    assert corpora.run_mixture(PAPER, "math_en+general_en+general_es", weights) == [2.0, 0.5, 1.0]


def test_the_translation_model_makes_the_translated_corpora_an_ability_lacks():
    config = copy.deepcopy(PAPER)
    config["translation"] |= {"languages": ["es", "te"]}
    config["abilities"]["science"]["translated_corpora"] = {"bn": {"source": "mine.jsonl"}}
    assert corpora.translated_corpora(config, "math") == ["math_es", "math_te"]
    assert corpora.translated_corpora(config, "science") == ["science_bn"]  # its own instead
    assert (
        corpora.corpus_config(config, "math_te")["source"] == "results/translations/math_te.jsonl"
    )
    assert corpora.corpus_config(config, "science_bn")["source"] == "mine.jsonl"
    del config["translation"]
    assert corpora.translated_corpora(config, "math") == []
