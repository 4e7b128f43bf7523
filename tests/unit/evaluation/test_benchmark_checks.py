"""Benchmark files checked before the model loads: MGSM questions and exemplars and Okapi
MMLU items of every language are read first, and a file that is not UTF-8 is named with its
line."""

import json

import pytest

import maec.evaluation.mgsm as mgsm
import maec.evaluation.mmlu as mmlu
from maec.evaluation.loaders import BenchmarkFormatError, load_mgsm_questions, load_multiple_choice

pytestmark = pytest.mark.reliability


@pytest.fixture
def model_loads(monkeypatch):
    """The model directories that evaluation loaded (it loads none in these tests)."""
    loaded = []

    def model_and_tokenizer(model_dir, device):
        loaded.append(model_dir)
        raise AssertionError("the model was loaded before every file was checked")

    monkeypatch.setattr(mgsm, "model_and_tokenizer", model_and_tokenizer)
    monkeypatch.setattr(mmlu, "model_and_tokenizer", model_and_tokenizer)
    return loaded


def _exemplars(path, languages):
    shots = {"en": {"q": "Question: 1 + 1?", "a": "Step-by-Step Answer: 2. The answer is 2."}}
    shots["es"] = {"q": "Pregunta: 1 + 1?", "a": "Respuesta paso a paso: 2. La respuesta es 2."}
    path.write_text(json.dumps({lang: [shots[lang]] for lang in languages}), encoding="utf-8")
    return path


@pytest.mark.parametrize("broken", ["questions", "exemplars"])
def test_mgsm_checks_every_language_before_loading_the_model(tmp_path, model_loads, broken):
    questions = {lang: tmp_path / f"mgsm_{lang}.tsv" for lang in ("en", "es")}
    questions["en"].write_text("Two and two?\t4\n", encoding="utf-8")
    questions["es"].write_text(
        "¿Dos y dos?\t4\n" if broken == "exemplars" else "¿Dos y dos?\tcuatro\n", encoding="utf-8"
    )
    exemplars = _exemplars(tmp_path / "ex.json", ["en"] if broken == "exemplars" else ["en", "es"])
    message = {
        "questions": r"mgsm_es.tsv:1: .*cuatro",
        "exemplars": r"ex.json: no exemplars for language 'es'",
    }[broken]
    out = tmp_path / "out"
    with pytest.raises(BenchmarkFormatError, match=message):
        mgsm.evaluate_mgsm_languages(
            tmp_path / "model",
            ["en", "es"],
            [questions["en"], questions["es"]],
            exemplars,
            [out / "en.jsonl", out / "es.jsonl"],
            [out / "en.json", out / "es.json"],
            n_shots=1,
        )
    assert model_loads == [] and not out.exists()


def _okapi(path, items):
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def test_mmlu_checks_every_language_before_loading_the_model(tmp_path, model_loads):
    item = dict(
        instruction="Which is a gas?",
        option_a="helium",
        option_b="iron",
        option_c="gold",
        option_d="salt",
        answer="A",
        id="college_chemistry/test/0",
    )
    good = _okapi(tmp_path / "en.json", [item])
    bad = _okapi(tmp_path / "es.json", [dict(item, answer="E")])
    out = tmp_path / "out"
    with pytest.raises(BenchmarkFormatError, match=r"es.json: item 0 .*answer key 'E'"):
        mmlu.evaluate_mmlu_languages(
            tmp_path / "model",
            ["en", "es"],
            [good, bad],
            [good, good],
            [out / "en.jsonl", out / "es.jsonl"],
            [out / "en.json", out / "es.json"],
            n_shots=1,
        )
    assert model_loads == [] and not out.exists()


# ---- loader messages -----------------------------------------------------------------------


def test_a_tsv_that_is_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "mgsm_bn.tsv"
    path.write_bytes(b"Two?\t2\n" + "¿Tres?\t3\n".encode("latin-1"))
    with pytest.raises(BenchmarkFormatError, match=r"mgsm_bn.tsv:2: not UTF-8 text"):
        load_mgsm_questions(path)


def test_okapi_json_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "es_test.json"
    path.write_bytes(b'[{"instruction": "\xe9"}]')
    with pytest.raises(BenchmarkFormatError, match=r"es_test.json:1: not UTF-8 text"):
        load_multiple_choice(path, "test")
