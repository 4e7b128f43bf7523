"""MMLU prompts, metrics and the whole evaluation on a tiny model."""

import json
import logging

import pytest
import torch
from helpers.tiny import save_tiny_model

import maec.evaluation.mmlu as mmlu
from maec.evaluation.generation import load_model, loglikelihoods
from maec.evaluation.loaders import MultipleChoiceQuestion

torch.set_num_threads(1)


def _question(text, options, answer, subject="college_physics"):
    return MultipleChoiceQuestion(text, tuple(options), answer, subject, "test")


def test_prompt_format():
    shot = _question("What is 1+1?", ["1", "2", "3", "4"], 1)
    question = _question("¿Qué es la energía?", ["masa", "trabajo", "luz", "nada"], 0)
    assert mmlu.mmlu_prompt(question, [shot]) == (
        "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n"
        "¿Qué es la energía?\nA. masa\nB. trabajo\nC. luz\nD. nada\nAnswer:"
    )
    assert mmlu.subject_description("high_school_physics") == (
        "The following are multiple choice questions (with answers) about high school physics.\n\n"
    )


def test_acc_and_acc_norm_differ_where_lengths_differ():
    options = ["ab", "a much longer option text"]  # 2 and 25 characters
    letters = [-1.0, -2.0]
    option_scores = [-4.0, -25.0]  # per character: -2.0 and -1.0
    assert mmlu.choose(letters, option_scores, options) == {"acc": 0, "acc_norm": 1, "acc_bytes": 1}
    assert mmlu.choose(letters, [-4.0, -60.0], options)["acc_norm"] == 0  # -2.0 against -2.4
    assert mmlu.choose([-3.0, -2.0], option_scores, options)["acc"] == 1


def test_acc_norm_counts_characters_and_acc_bytes_utf8_bytes():
    options = ["ধাপে", "abcd"]  # 4 characters each; 12 and 4 bytes
    assert mmlu.choose([0.0, 0.0], [-6.0, -3.0], options) == {
        "acc": 0,
        "acc_norm": 1,
        "acc_bytes": 0,
    }


def test_ties_go_to_the_first_option_like_numpy_argmax():
    assert mmlu.argmax([-1.0, -1.0, -2.0]) == 0


def _okapi(subject, split, index, answer="A", short=False):
    return {
        "instruction": f"{subject} question {index}?",
        "option_a": "yes" if short else "the first rather long option",
        "option_b": "no",
        "option_c": "energy and momentum are conserved",
        "option_d": "d",
        "answer": answer,
        "id": f"{subject}/{split}/{index}",
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("mmlu")
    save_tiny_model(root / "model")
    test = [
        _okapi(s, "val", i, "ABCD"[i % 4], short=i % 2)
        for i in range(3)
        for s in ("college_physics", "college_biology", "philosophy")
    ]
    dev = [_okapi("college_physics", "dev", i) for i in range(6)] + [
        _okapi("college_biology", "dev", 0, "B")
    ]
    (root / "xx_val.json").write_text(json.dumps(test))
    (root / "xx_dev.json").write_text(json.dumps(dev))
    return root


def _evaluate(files, out, **options):
    return mmlu.evaluate_mmlu(
        files / "model",
        files / "xx_val.json",
        files / "xx_dev.json",
        "xx",
        out / "mmlu.jsonl",
        out / "mmlu.json",
        device="cpu",
        **options,
    )


def test_tiny_model_end_to_end(files, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        score = _evaluate(files, tmp_path, n_shots=5, batch_size=3)
    assert "only 1 dev questions for college_biology" in caplog.text
    assert score["n"] == 6  # philosophy is not a science subject
    assert score["settings"]["shots_per_subject"] == {"college_biology": 1, "college_physics": 5}
    records = [json.loads(line) for line in (tmp_path / "mmlu.jsonl").read_text().splitlines()]
    physics = next(r for r in records if r["subject"] == "college_physics")
    assert (
        physics["prompt"].count("college_physics question") == 6
        and "college_biology" not in physics["prompt"]
    )
    assert not physics["prompt"].startswith("The following")
    for metric in ("acc", "acc_norm", "acc_bytes"):
        assert score[metric] == sum(r[f"{metric}_correct"] for r in records) / len(records)
    # the logged log-likelihoods are those of the prompt's continuations, one at a time
    model, tokenizer = load_model(files / "model", torch.device("cpu"))
    record = records[0]
    letters = loglikelihoods(
        model, tokenizer, [(record["prompt"], f" {x}") for x in "ABCD"], batch_size=1
    )
    assert record["letter_loglikelihoods"] == pytest.approx(letters, abs=1e-4)
    question = next(
        q for q in json.loads((files / "xx_val.json").read_text()) if q["id"] in record["source"]
    )
    options = [question[f"option_{x}"] for x in "abcd"]
    expected = mmlu.choose(
        record["letter_loglikelihoods"], record["option_loglikelihoods"], options
    )
    assert record["acc_norm_answer"] == "ABCD"[expected["acc_norm"]]


def test_english_prompts_have_the_subject_description(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        mmlu, "loglikelihoods", lambda model, tokenizer, requests, **_: [0.0] * len(requests)
    )
    score = mmlu.evaluate_mmlu(
        files / "model",
        files / "xx_val.json",
        files / "xx_dev.json",
        "en",
        tmp_path / "a.jsonl",
        tmp_path / "a.json",
        n_shots=0,
        limit=2,
        device="cpu",
    )
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert records[0]["prompt"].startswith(
        "The following are multiple choice questions (with answers) about college physics."
    )
    assert score["settings"]["shots_per_subject"] == {"college_biology": 0, "college_physics": 0}
    assert score["acc"] == sum(r["gold"] == "A" for r in records) / 2  # all tied: the first option


def test_subject_without_dev_questions(files, tmp_path):
    (tmp_path / "dev.json").write_text(json.dumps([_okapi("college_physics", "dev", 0)]))
    with pytest.raises(
        ValueError, match=r"dev.json: no dev questions for the subjects college_biology"
    ):
        mmlu.evaluate_mmlu(
            tmp_path / "no-model",
            files / "xx_val.json",
            tmp_path / "dev.json",
            "xx",
            tmp_path / "o.jsonl",
            tmp_path / "o.json",
        )
    assert not (tmp_path / "o.json").exists()
