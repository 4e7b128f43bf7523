"""No benchmark item is dropped silently: each malformed item is an error naming the file
and the item, and a score file counts the items of its files and those it scored."""

import json

import pytest
import torch

import maec.evaluation.mgsm as mgsm
import maec.evaluation.mmlu as mmlu
from maec.evaluation.loaders import (
    BenchmarkFormatError,
    load_mgsm_exemplars,
    load_mgsm_questions,
    load_multiple_choice,
    read_multiple_choice,
)

pytestmark = pytest.mark.reliability


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---- MGSM questions: every malformed row names the file and its line --------------------


@pytest.mark.parametrize(
    "row, message",
    [
        ("Q two\t2\textra", r"mgsm_xx.tsv:2: expected 'question<TAB>answer' \(2 fields\), found 3"),
        ("Q two without answer", r"mgsm_xx.tsv:2: expected .* found 1"),
        ("\t2", r"mgsm_xx.tsv:2: empty question"),
        ("Q two\t", r"mgsm_xx.tsv:2: gold answer '' is not a number"),
        ("Q two\tseven", r"mgsm_xx.tsv:2: gold answer 'seven' is not a number"),
        ("  \t  ", r"mgsm_xx.tsv:2: gold answer .* is not a number"),  # a row, not a blank
    ],
)
def test_malformed_mgsm_row_names_file_and_line(tmp_path, row, message):
    path = _write(tmp_path / "mgsm_xx.tsv", f"Q one\t1\n{row}\nQ three\t3\n")
    with pytest.raises(BenchmarkFormatError, match=message):
        load_mgsm_questions(path)


def test_blank_mgsm_lines_hold_no_item_and_the_others_keep_their_line(tmp_path):
    path = _write(tmp_path / "mgsm_xx.tsv", "Q one\t1\n\n   \r\nQ two\t2\n\n")
    assert [q.source.rsplit(":", 1)[1] for q in load_mgsm_questions(path)] == ["1", "4"]
    with pytest.raises(BenchmarkFormatError, match=r"empty.tsv: no questions"):
        load_mgsm_questions(_write(tmp_path / "empty.tsv", "\n \n"))


def test_malformed_exemplar_names_file_and_item(tmp_path):
    good = {"q": "Question: a", "a": "Step-by-Step Answer: b. The answer is 2."}
    path = _write(tmp_path / "ex.json", json.dumps({"en": [good, "just text"]}))
    with pytest.raises(BenchmarkFormatError, match=r"ex.json: en\[1\]: expected an object"):
        load_mgsm_exemplars(path, "en")
    without_number = dict(good, a="Step-by-Step Answer: b.")
    path = _write(tmp_path / "ex.json", json.dumps({"en": [good, without_number]}))
    with pytest.raises(BenchmarkFormatError, match=r"ex.json: en\[1\]: .*no final answer"):
        mgsm.prepare_mgsm(
            _write(tmp_path / "q.tsv", "Q\t1\n"), path, "en", n_shots=2, chain_of_thought=False
        )


# ---- MMLU: Okapi items and CSV rows ----------------------------------------------------------


def _okapi(index, subject="college_physics", **change):
    item = dict(
        instruction=f"Q{index}?",
        option_a="a",
        option_b="b",
        option_c="c",
        option_d="d",
        answer="A",
        id=f"{subject}/test/{index}",
    )
    return {**item, **change}


@pytest.mark.parametrize(
    "bad, message",
    [
        (_okapi(0), r"item 2 \(id 'college_physics/test/0'\): the id of item 0 again"),
        (_okapi(2, id="physics"), r"item 2 \(id 'physics'\): id is not 'subject/split/idx'"),
        (_okapi(2, instruction=" "), r"item 2 \(id .*\): empty instruction"),
        (_okapi(2, option_b=None), r"item 2 \(id .*\): option B is empty or not text"),
        (_okapi(2, answer="a"), r"item 2 \(id .*\): answer key 'a' is not one of A, B, C, D"),
        ("Q2?", r"item 2: expected an object with the keys"),
    ],
)
def test_malformed_okapi_item_names_file_and_item(tmp_path, bad, message):
    path = _write(tmp_path / "xx_test.json", json.dumps([_okapi(0), _okapi(1), bad]))
    with pytest.raises(BenchmarkFormatError, match=f"xx_test.json: {message}"):
        load_multiple_choice(path, "test")


@pytest.mark.parametrize(
    "row, message",
    [
        (",a,b,c,d,A", r"row 3: empty question"),
        ("q,a,b,,d,A", r"row 3: option C is empty"),
        ("q,a,b,c,d", r"row 3: expected 6 columns .* found 5"),
        ("q,a,b,c,d,", r"row 3: answer key ''"),
        (",,,,,", r"row 3: empty question"),  # separators make it a row, not a blank line
    ],
)
def test_malformed_mmlu_row_names_file_and_row(tmp_path, row, message):
    path = _write(tmp_path / "college_physics_test.csv", f"q1,a,b,c,d,A\n\n{row}\n")
    with pytest.raises(BenchmarkFormatError, match=f"college_physics_test.csv: {message}"):
        load_multiple_choice(path, "test")


def test_blank_mmlu_rows_hold_no_item_and_empty_files_are_errors(tmp_path):
    path = _write(tmp_path / "college_physics_test.csv", "q1,a,b,c,d,A\n\n  \r\nq2,a,b,c,d,B\n\n")
    assert [q.source.rsplit(" ", 1)[1] for q in load_multiple_choice(path, "test")] == ["1", "4"]
    with pytest.raises(BenchmarkFormatError, match=r"college_biology_test.csv: no questions"):
        load_multiple_choice(_write(tmp_path / "college_biology_test.csv", "\n"), "test")
    with pytest.raises(BenchmarkFormatError, match=r"xx_test.json: no questions"):
        load_multiple_choice(_write(tmp_path / "xx_test.json", "[]"), "test")


def test_items_of_other_subjects_are_counted(tmp_path):
    items = [_okapi(0), _okapi(0, "philosophy"), _okapi(1)]
    read = read_multiple_choice(_write(tmp_path / "xx_test.json", json.dumps(items)), "test")
    assert read.items == 3 and [q.question for q in read.questions] == ["Q0?", "Q1?"]


# ---- limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_a_limit_that_would_drop_items_unasked_is_an_error(tmp_path, limit):
    questions = _write(tmp_path / "q.tsv", "Q one\t1\nQ two\t2\n")
    with pytest.raises(ValueError, match=r"limit must be a positive number of items"):
        mgsm.prepare_mgsm(questions, tmp_path / "ex.json", "en", n_shots=0, limit=limit)
    test = _write(tmp_path / "xx_test.json", json.dumps([_okapi(0)]))
    with pytest.raises(ValueError, match=r"limit must be a positive number of items"):
        mmlu.prepare_mmlu(test, test, "xx", n_shots=0, limit=limit)


# ---- the score files count the items ---------------------------------------------------------


@pytest.fixture
def no_model(monkeypatch):
    """Scoring without a model: a one-parameter stand-in, and scripted outputs."""

    def model_and_tokenizer(model_dir, device):
        return torch.nn.Linear(1, 1), None

    monkeypatch.setattr(mgsm, "model_and_tokenizer", model_and_tokenizer)
    monkeypatch.setattr(mmlu, "model_and_tokenizer", model_and_tokenizer)
    monkeypatch.setattr(
        mgsm, "generate_greedy", lambda model, tok, prompts, **_: [" 2"] * len(prompts)
    )
    monkeypatch.setattr(
        mmlu, "loglikelihoods", lambda model, tok, requests, **_: [0.0] * len(requests)
    )


@pytest.mark.parametrize("limit, scored", [(None, 3), (2, 2)])
def test_mgsm_score_counts_items_and_scored(tmp_path, no_model, limit, scored):
    questions = _write(tmp_path / "mgsm_en.tsv", "Q one\t1\n\nQ two\t2\nQ three\t3\n")
    score = mgsm.evaluate_mgsm(
        tmp_path / "model",
        questions,
        tmp_path / "ex.json",
        "en",
        tmp_path / "en.jsonl",
        tmp_path / "en.json",
        n_shots=0,
        limit=limit,
        device="cpu",
    )
    assert score["items"] == 3 and score["scored"] == score["n"] == scored
    assert score["not_scored"] == {"limit": 3 - scored}
    assert json.loads((tmp_path / "en.json").read_text())["items"] == 3
    assert len((tmp_path / "en.jsonl").read_text().splitlines()) == scored


@pytest.mark.parametrize("limit, scored", [(None, 3), (2, 2)])
def test_mmlu_score_counts_items_scored_and_other_subjects(tmp_path, no_model, limit, scored):
    items = [_okapi(0), _okapi(0, "philosophy"), _okapi(1), _okapi(0, "college_biology")]
    test = _write(tmp_path / "xx_test.json", json.dumps(items))
    score = mmlu.evaluate_mmlu(
        tmp_path / "model",
        test,
        test,
        "xx",
        tmp_path / "xx.jsonl",
        tmp_path / "xx.json",
        n_shots=0,
        limit=limit,
        device="cpu",
    )
    assert score["items"] == 4 and score["scored"] == score["n"] == scored
    assert score["not_scored"] == {"other_subjects": 1, "limit": 3 - scored}
    assert json.loads((tmp_path / "xx.json").read_text())["not_scored"] == score["not_scored"]
    assert len((tmp_path / "xx.jsonl").read_text().splitlines()) == scored
