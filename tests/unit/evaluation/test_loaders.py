"""Loaders: every real file with its row count; bad input names the file and the row."""

import json
from pathlib import Path

import pytest
import yaml
from helpers import REPO, SHARED_DATA

from maec.evaluation.languages import MGSM_LABELS
from maec.evaluation.loaders import (
    SCIENCE_SUBJECTS,
    BenchmarkFormatError,
    load_mgsm_exemplars,
    load_mgsm_questions,
    load_multiple_choice,
)

DATA = SHARED_DATA
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data absent")

# Counted in the files (the paper's science subjects only for Okapi and MMLU).
OKAPI_SCIENCE = {
    ("bn", "dev"): 30,
    ("bn", "val"): 122,
    ("es", "dev"): 35,
    ("es", "val"): 132,
    ("te", "dev"): 35,
    ("te", "val"): 111,
}
OKAPI_ALL = {
    ("bn", "dev"): 216,
    ("bn", "val"): 1310,
    ("es", "dev"): 272,
    ("es", "val"): 1465,
    ("te", "dev"): 272,
    ("te", "val"): 1159,
}
MMLU_EN = {"dev": 30, "val": 111, "test": 1014}  # six subjects: no conceptual physics here
SIX_SUBJECTS = [s for s in SCIENCE_SUBJECTS if s != "conceptual_physics"]

# MMLU test questions per subject in the data set's hub copy (cais/mmlu, which lm-eval reads);
# the 2020 copy in ../shared/data has 204 high-school chemistry and 154 high-school physics
# questions. The paper's Table 6 counts 1,245 English science questions.
MMLU_TEST_HUB = {
    "college_biology": 144,
    "college_chemistry": 100,
    "college_physics": 102,
    "conceptual_physics": 235,
    "high_school_biology": 310,
    "high_school_chemistry": 203,
    "high_school_physics": 151,
}
MMLU_TEST_SHARED = MMLU_TEST_HUB | {"high_school_chemistry": 204, "high_school_physics": 154}
PAPER_TABLE6_ENGLISH = 1245


@needs_data
@pytest.mark.parametrize("lang", ["en", "es", "zh", "bn", "te"])
def test_mgsm_files_have_250_questions(lang):
    questions = load_mgsm_questions(DATA / "mgsm" / f"mgsm_{lang}.tsv")
    assert len(questions) == 250
    assert sorted(q.answer for q in questions if "," in q.answer) == [
        "114,200",
        "2,125",
        "276,000",
        "5,600",
    ]
    assert {int(q.gold) for q in questions if q.answer == "2,125"} == {2125}


@needs_data
@pytest.mark.parametrize("lang", sorted(MGSM_LABELS))
def test_mgsm_exemplars_load_in_every_language(lang):
    assert len(load_mgsm_exemplars(DATA / "mgsm" / "exemplars.json", lang)) == 8


@needs_data
@pytest.mark.parametrize("lang, split", sorted(OKAPI_ALL))
def test_okapi_files(lang, split):
    path = DATA / "okapi_m_mmlu" / f"{lang}_{split}.json"
    assert len(load_multiple_choice(path, split)) == OKAPI_SCIENCE[(lang, split)]
    everything = load_multiple_choice(
        path, split, subjects={i["id"].split("/")[0] for i in json.loads(path.read_text())}
    )
    assert len(everything) == OKAPI_ALL[(lang, split)]


@needs_data
@pytest.mark.parametrize("split", sorted(MMLU_EN))
def test_english_mmlu_directory_and_file_list(split):
    directory = DATA / "mmlu_en"
    from_directory = load_multiple_choice(directory, split, SIX_SUBJECTS)
    assert len(from_directory) == MMLU_EN[split]
    assert {q.subject for q in from_directory} == set(SIX_SUBJECTS)
    files = sorted(directory.glob(f"*_{split}.csv"))
    assert len(files) == 6
    assert load_multiple_choice(files, split) == from_directory
    with pytest.raises(BenchmarkFormatError, match=f"conceptual_physics_{split}.csv"):
        load_multiple_choice(directory, split)  # the paper's subjects: one file is not here


def test_the_paper_subjects_give_its_table6_count():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    mmlu = schema["properties"]["evaluation"]["properties"]["mmlu"]["properties"]
    assert tuple(mmlu["subjects"]["default"]) == SCIENCE_SUBJECTS
    assert sum(MMLU_TEST_HUB[s] for s in SCIENCE_SUBJECTS) == PAPER_TABLE6_ENGLISH
    assert sum(MMLU_TEST_HUB[s] for s in SIX_SUBJECTS) == 1010  # what conceptual physics fills


@needs_data
def test_english_test_counts_per_subject_in_shared_data():
    questions = load_multiple_choice(DATA / "mmlu_en", "test", SIX_SUBJECTS)
    counts = {s: sum(q.subject == s for q in questions) for s in SIX_SUBJECTS}
    assert counts == {s: MMLU_TEST_SHARED[s] for s in SIX_SUBJECTS}


@needs_data
@pytest.mark.parametrize("lang", ["es", "bn", "te"])
def test_every_okapi_language_has_the_paper_subjects(lang):
    for split in ("dev", "val"):
        path = DATA / "okapi_m_mmlu" / f"{lang}_{split}.json"
        assert {q.subject for q in load_multiple_choice(path, split)} == set(SCIENCE_SUBJECTS)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_mgsm_row_with_wrong_field_count(tmp_path):
    path = _write(tmp_path / "mgsm_xx.tsv", "Q one\t1\nQ two without answer\n")
    with pytest.raises(
        BenchmarkFormatError, match=r"mgsm_xx.tsv:2: expected 'question<TAB>answer'"
    ):
        load_mgsm_questions(path)


def test_mgsm_gold_that_is_not_a_number(tmp_path):
    path = _write(tmp_path / "mgsm_xx.tsv", "Q one\t1\nQ two\tseven\n")
    with pytest.raises(
        BenchmarkFormatError, match=r"mgsm_xx.tsv:2: gold answer 'seven' is not a number"
    ):
        load_mgsm_questions(path)


def test_language_without_exemplars(tmp_path):
    path = _write(
        tmp_path / "ex.json",
        json.dumps({"en": [{"q": "Question: a", "a": "Step-by-Step Answer: b"}]}),
    )
    with pytest.raises(
        BenchmarkFormatError, match=r"ex.json: no exemplars for language 'bn'; it has en"
    ):
        load_mgsm_exemplars(path, "bn")


def test_exemplar_without_its_label(tmp_path):
    path = _write(
        tmp_path / "ex.json", json.dumps({"en": [{"q": "Question: a", "a": "Answer: b"}]})
    )
    with pytest.raises(
        BenchmarkFormatError, match=r"ex.json: en\[0\]: 'a' does not begin with the answer label"
    ):
        load_mgsm_exemplars(path, "en")


def _okapi_item(**change):
    item = {
        "instruction": "Q?",
        "option_a": "a",
        "option_b": "b",
        "option_c": "c",
        "option_d": "d",
        "answer": "A",
        "id": "college_physics/val/0",
    }
    return {**item, **change}


def test_okapi_answer_outside_a_to_d(tmp_path):
    path = _write(
        tmp_path / "xx_val.json",
        json.dumps([_okapi_item(), _okapi_item(answer="E", id="college_physics/val/1")]),
    )
    with pytest.raises(
        BenchmarkFormatError,
        match=r"xx_val.json: item 1 \(id 'college_physics/val/1'\): answer key 'E'",
    ):
        load_multiple_choice(path, "test")


def test_okapi_missing_key_and_empty_option(tmp_path):
    item = _okapi_item()
    del item["option_d"]
    with pytest.raises(
        BenchmarkFormatError, match=r"item 0: no 'option_d' \(an Okapi item has the keys"
    ):
        load_multiple_choice(_write(tmp_path / "a.json", json.dumps([item])), "test")
    with pytest.raises(BenchmarkFormatError, match=r"item 0 .*option C is empty"):
        load_multiple_choice(
            _write(tmp_path / "b.json", json.dumps([_okapi_item(option_c=" ")])), "test"
        )


def test_okapi_file_that_is_not_a_list(tmp_path):
    with pytest.raises(BenchmarkFormatError, match=r"c.json: expected a list"):
        load_multiple_choice(_write(tmp_path / "c.json", json.dumps({"a": 1})), "test")
    with pytest.raises(BenchmarkFormatError, match=r"d.json: not JSON"):
        load_multiple_choice(_write(tmp_path / "d.json", "question,A,B,C,D,A\n"), "test")


def test_mmlu_csv_bad_rows(tmp_path):
    path = _write(tmp_path / "college_physics_test.csv", "q1,a,b,c,d,A\nq2,a,b,c,d,5\n")
    with pytest.raises(
        BenchmarkFormatError, match=r"college_physics_test.csv: row 2: answer key '5'"
    ):
        load_multiple_choice(path, "test")
    path = _write(tmp_path / "college_biology_test.csv", "q1,a,b,c,d,A\nq2,a,b,c\n")
    with pytest.raises(
        BenchmarkFormatError, match=r"college_biology_test.csv: row 2: expected 6 columns"
    ):
        load_multiple_choice(path, "test")
    with pytest.raises(BenchmarkFormatError, match=r"physics.csv: an MMLU CSV file must be named"):
        load_multiple_choice(_write(tmp_path / "physics.csv", "q,a,b,c,d,A\n"), "test")


def test_mmlu_directory_missing_a_subject(tmp_path):
    _write(tmp_path / "college_physics_test.csv", "q,a,b,c,d,A\n")
    with pytest.raises(
        BenchmarkFormatError, match=r"missing MMLU files .*college_biology_test.csv"
    ):
        load_multiple_choice(tmp_path, "test")
    assert len(load_multiple_choice(tmp_path, "test", subjects=["college_physics"])) == 1


def test_unknown_file_kind(tmp_path):
    with pytest.raises(
        BenchmarkFormatError, match=r"x.txt: expected an Okapi .json or an MMLU .csv"
    ):
        load_multiple_choice(_write(tmp_path / "x.txt", ""), "test")
