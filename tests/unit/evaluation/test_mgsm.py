"""MGSM prompts and the whole evaluation on a tiny model (real and scripted generations)."""

import json

import pytest
import torch
from helpers.tiny import save_tiny_model

import maec.evaluation.mgsm as mgsm
from maec.evaluation.languages import MGSM_LABELS
from maec.evaluation.loaders import BenchmarkFormatError, Exemplar

torch.set_num_threads(1)

EXEMPLARS = [
    Exemplar(
        "Question: Roger has 5 balls. He buys 6 more. How many?",
        "Step-by-Step Answer: 5 + 6 = 11. The answer is 11.",
    ),
    Exemplar(
        "Question: 9 computers, 20 more?", "Step-by-Step Answer: 9 + 20 = 29. The answer is 29."
    ),
]


def test_chain_of_thought_prompt():
    prompt = mgsm.mgsm_prompt("How many cars?", EXEMPLARS, MGSM_LABELS["en"])
    assert prompt == (
        "Question: Roger has 5 balls. He buys 6 more. How many?\n"
        "Step-by-Step Answer: 5 + 6 = 11. The answer is 11.\n\n"
        "Question: 9 computers, 20 more?\n"
        "Step-by-Step Answer: 9 + 20 = 29. The answer is 29.\n\n"
        "Question: How many cars?\nStep-by-Step Answer:"
    )


def test_direct_prompt_uses_the_exemplars_final_numbers():
    prompt = mgsm.mgsm_prompt(
        "How many cars?", EXEMPLARS, MGSM_LABELS["en"], chain_of_thought=False
    )
    assert prompt == (
        "Question: Roger has 5 balls. He buys 6 more. How many?\nAnswer: 11\n\n"
        "Question: 9 computers, 20 more?\nAnswer: 29\n\n"
        "Question: How many cars?\nAnswer:"
    )


def test_zero_shot_and_full_width_labels():
    assert mgsm.mgsm_prompt("多少？", [], MGSM_LABELS["zh"]) == "问题：多少？\n逐步解答："


def test_direct_prompt_needs_a_final_answer_in_each_exemplar():
    broken = [Exemplar("Question: x", "Step-by-Step Answer: no number")]
    with pytest.raises(BenchmarkFormatError, match="no final answer after 'The answer is'"):
        mgsm.mgsm_prompt("q", broken, MGSM_LABELS["en"], chain_of_thought=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("mgsm")
    save_tiny_model(root / "model")
    (root / "mgsm_en.tsv").write_text(
        "Roger has 5 balls. How many?\t11\nA farm has 2,000 cows and buys 125.\t2,125\n"
        "Sam has 3 pens.\t3\n",
        encoding="utf-8",
    )
    (root / "exemplars.json").write_text(
        json.dumps({"en": [{"q": e.question, "a": e.answer} for e in EXEMPLARS]})
    )
    return root


def _evaluate(files, out, **options):
    return mgsm.evaluate_mgsm(
        files / "model",
        files / "mgsm_en.tsv",
        files / "exemplars.json",
        "en",
        out / "mgsm_en.jsonl",
        out / "mgsm_en.json",
        device="cpu",
        **options,
    )


def test_scores_scripted_generations(files, tmp_path, monkeypatch):
    scripted = [
        " 5 + 6 = 11. The answer is 11.",  # both right
        " 2,000 + 125 = 2,125. The answer is 2125, I think 3",  # strict right, flexible wrong
        " The pens are 3",  # no answer phrase: strict missing, flexible right
    ]
    seen = {}

    def fake_generate(model, tokenizer, prompts, **options):
        seen.update(options, prompts=prompts)
        return scripted

    monkeypatch.setattr(mgsm, "generate_greedy", fake_generate)
    score = _evaluate(files, tmp_path, n_shots=2, max_new_tokens=600, batch_size=2)
    assert score["n"] == 3
    assert score["strict_acc"] == pytest.approx(2 / 3)
    assert score["flexible_acc"] == pytest.approx(2 / 3)
    assert score["strict_missing"] == 1 and score["flexible_missing"] == 0
    assert (
        seen["stop_strings"] == ["Question:"]
        and seen["max_new_tokens"] == 600
        and seen["batch_size"] == 2
    )
    assert seen["prompts"][1].endswith(
        "Question: A farm has 2,000 cows and buys 125.\nStep-by-Step Answer:"
    )
    records = [json.loads(line) for line in (tmp_path / "mgsm_en.jsonl").read_text().splitlines()]
    assert [r["strict_answer"] for r in records] == ["11", "2125", None]
    assert [r["flexible_answer"] for r in records] == ["11", "3", "3"]
    assert [r["gold"] for r in records] == ["11", "2125", "3"]
    assert records[0]["source"].endswith("mgsm_en.tsv:1")
    assert json.loads((tmp_path / "mgsm_en.json").read_text()) == score
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_tiny_model_end_to_end(files, tmp_path):
    score = _evaluate(files, tmp_path, n_shots=1, max_new_tokens=8, batch_size=2, limit=2)
    assert score["n"] == 2 and score["settings"]["limit"] == 2
    records = [json.loads(line) for line in (tmp_path / "mgsm_en.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert score["flexible_acc"] == sum(r["flexible_correct"] for r in records) / 2
    assert all("Question:" not in r["generation"] for r in records)


def test_bad_input_fails_before_the_model_is_loaded(files, tmp_path):
    missing_model = tmp_path / "no-model"
    with pytest.raises(BenchmarkFormatError, match="no exemplars for language 'bn'"):
        mgsm.evaluate_mgsm(
            missing_model,
            files / "mgsm_en.tsv",
            files / "exemplars.json",
            "bn",
            tmp_path / "o.jsonl",
            tmp_path / "o.json",
        )
    with pytest.raises(ValueError, match="n_shots=8, but .* has 2 exemplars"):
        mgsm.evaluate_mgsm(
            missing_model,
            files / "mgsm_en.tsv",
            files / "exemplars.json",
            "en",
            tmp_path / "o.jsonl",
            tmp_path / "o.json",
        )
    assert not list(tmp_path.iterdir())
