"""The translation rule's library: segments by hand, and a corpus translated by a tiny
randomly initialised model in NLLB-200's layout (nonsense text, the real path)."""

import json

import pytest

from maec.data.translation import segments, translate_corpus
from maec.rehearsal.translator import write_hub_translator

TEXTS = ["the cat sat on the mat", "a dog ran far away", "el gato se sentó", "2 + 3 = 5"] * 30


class WordTokenizer:
    """One token per character: lengths known by heart."""

    def tokenize(self, text):
        return list(text)


def test_segments_are_lines_and_long_lines_cut_at_words():
    document = "one two three\n\nfour five six seven"
    assert segments(document, WordTokenizer(), max_length=10) == [
        ("one two", " "),  # 3 + 3 characters; three would make 11 of 10
        ("three", "\n"),
        ("", "\n"),
        ("four five", " "),
        ("six seven", ""),
    ]
    assert segments("short line", WordTokenizer(), max_length=100) == [("short line", "")]


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    return write_hub_translator(tmp_path_factory.mktemp("mt") / "nllb-tiny", TEXTS)


def _corpus(tmp_path, documents=20):
    corpus = tmp_path / "math_en.jsonl"
    lines = [
        json.dumps({"text": f"Question {i}: the cat had {i} mats.\nAnswer: {i}."})
        for i in range(documents)
    ]
    corpus.write_text("\n".join(lines) + "\n")
    return dict(source=str(corpus), text_field="text", split="train", name=None, data_files=None)


def test_a_corpus_is_translated_within_its_token_cap_the_same_every_time(translator, tmp_path):
    reading = _corpus(tmp_path)
    codes = dict(source_code="eng_Latn", target_code="spa_Latn")
    first = translate_corpus(
        reading, translator, tmp_path / "a.jsonl", max_tokens=150, max_length=16, **codes
    )
    again = translate_corpus(
        reading, translator, tmp_path / "b.jsonl", max_tokens=150, max_length=16, **codes
    )
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    lines = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(lines) == first["documents"] == again["documents"]
    assert 0 < first["documents"] < 20 and first["source_tokens"] <= 150
    assert all(line["text"].strip() for line in lines)
    assert all(line["text"].count("\n") == 1 for line in lines)  # the documents' line breaks
    assert json.loads((tmp_path / "a.json").read_text())["target_code"] == "spa_Latn"


def test_a_language_the_model_does_not_know_is_named(translator, tmp_path):
    with pytest.raises(ValueError, match="no language code 'xx_Yyyy'"):
        translate_corpus(
            _corpus(tmp_path),
            translator,
            tmp_path / "out.jsonl",
            source_code="eng_Latn",
            target_code="xx_Yyyy",
            max_tokens=100,
        )
    assert not (tmp_path / "out.jsonl").exists()
