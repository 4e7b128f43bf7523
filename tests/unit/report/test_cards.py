"""Model cards: the hub's metadata built with huggingface_hub, loaded back with it, and the
scores with their intervals."""

import pytest
from helpers.scores import write_model
from huggingface_hub import ModelCard

from maec.report.cards import (
    CardFacts,
    Score,
    backbone_license,
    composition,
    model_card,
    read_scores,
    write_card,
)
from maec.report.stats import accuracy_interval

SCORE = Score(
    bench="mgsm",
    lang="bn",
    accuracy=0.424,
    low=0.36,
    high=0.49,
    n=250,
    metric="flexible_acc",
    dataset="juletxara/mgsm",
)
FACTS = CardFacts(
    name="maec_math",
    label="MAEC",
    description="the MAEC merge (Eq. 5)",
    summary="MAEC adds ability and language weights.",
    relation="merge",
    base_model="meta-llama/Meta-Llama-3-8B",
    languages=["en", "bn"],
    settings={"merge": {"gamma": 0.2, "eta": 1.0}, "key_neurons": {"k1": 0.05}},
    corpora=[("results/cpt/math_en+general_en", 2_000_000_000)],
    datasets=["open-web-math/open-web-math"],
    license="llama3",
    composition={"mlp_up": 3, "attention_q": 2},
    scores=[SCORE],
)


def test_a_card_loads_back_with_huggingface_hub_with_every_field(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(str(model_card(FACTS)))
    data = ModelCard.load(path).data
    assert data.base_model == "meta-llama/Meta-Llama-3-8B"
    assert data.to_dict()["base_model_relation"] == "merge"
    assert data.language == ["en", "bn"] and data.license == "llama3"
    assert data.library_name == "transformers" and "maec" in data.tags
    assert data.datasets == ["open-web-math/open-web-math"]
    (result,) = data.eval_results
    assert (result.dataset_type, result.dataset_config, result.metric_type) == (
        "juletxara/mgsm",
        "bn",
        "accuracy",
    )
    assert result.metric_value == 42.4
    text = ModelCard.load(path).text
    assert "| MGSM | bn | 42.4 | 36.0 – 49.0 | 250 |" in text
    assert "|T| = 5 ability tensors (attention_q 2, mlp_up 3)." in text
    assert "| `merge.gamma` | `0.2` |" in text and "| `key_neurons.k1` | `0.05` |" in text
    assert "2,000,000,000" in text and "@misc{maec" in text


def test_a_card_before_its_scores_has_no_model_index(tmp_path):
    facts = CardFacts(**{**FACTS.__dict__, "scores": (), "license": None, "datasets": ()})
    data = model_card(facts).data.to_dict()
    assert "model-index" not in data and "license" not in data and "datasets" not in data


def test_scores_come_with_the_bootstrap_interval_of_their_records(tmp_path):
    correct = [1, 0, 1, 1, 0, 0, 1, 1]
    paths = [
        write_model(tmp_path, "maec_math", "bn", correct),
        write_model(tmp_path, "maec_math", "es", [1, 1, 0], bench="mmlu"),
    ]
    intervals = {"resamples": 500, "seed": 3, "level": 0.9}
    mgsm, mmlu = read_scores(paths, {"mgsm": "juletxara/mgsm"}, intervals)
    expected = accuracy_interval(correct, **intervals)
    assert (mgsm.accuracy, mgsm.low, mgsm.high) == expected
    assert (mgsm.n, mgsm.metric, mgsm.dataset) == (8, "flexible_acc", "juletxara/mgsm")
    assert (mmlu.bench, mmlu.lang, mmlu.metric, mmlu.dataset) == ("mmlu", "es", "acc", None)
    assert mmlu.accuracy == pytest.approx(2 / 3)


def test_composition_counts_the_selected_tensors_by_type(tmp_path):
    table = tmp_path / "math.tsv"
    table.write_text(
        "tensor\ttype\tselected\na\tmlp_up\t1\nb\tmlp_up\t0\nc\tattention_q\t1\nd\tmlp_up\t1\n"
    )
    assert composition([table]) == {"mlp_up": 2, "attention_q": 1}
    assert composition([]) == {}


def test_the_license_is_the_backbone_cards(tmp_path):
    assert backbone_license(tmp_path) is None
    (tmp_path / "README.md").write_text("---\nlicense: llama3\n---\n# a backbone\n")
    assert backbone_license(tmp_path) == "llama3"


def test_the_card_goes_into_the_model_directory_and_its_copy(tmp_path):
    (tmp_path / "model").mkdir()
    write_card(tmp_path / "model", model_card(FACTS), tmp_path / "cards/maec_math.md")
    assert (tmp_path / "model/README.md").read_text() == (
        tmp_path / "cards/maec_math.md"
    ).read_text()
