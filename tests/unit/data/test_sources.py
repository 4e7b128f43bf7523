"""Corpus sources: the form read from the config alone, and the first record checked."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from maec.data.sources import CorpusError, check_corpus, source_form


def test_the_form_of_a_corpus_comes_from_the_config_alone(tmp_path):
    assert source_form("results/world/corpora/general_en.jsonl") == "file"  # made by a rule
    assert source_form(str(tmp_path)) == "directory"
    assert source_form("common-pile/arxiv_papers_filtered") == "hub"
    assert source_form("uonlp/CulturaX", "es", data_files="es/*.parquet") == "hub"
    with pytest.raises(CorpusError, match="neither a local file"):
        source_form("arxiv papers")
    with pytest.raises(CorpusError, match="neither a local file"):
        source_form("allenai/dolma/arxiv")
    with pytest.raises(CorpusError, match="a local file is read whole"):
        source_form("corpus.parquet", name="en")


def test_local_files_are_checked_for_the_text_field(tmp_path):
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(json.dumps({"content": "a"}) + "\n")
    with pytest.raises(CorpusError, match=r"^abilities\.math\.corpus\.text_field: 'text' is not"):
        check_corpus({"source": str(jsonl)}, "abilities.math.corpus")
    check_corpus({"source": str(jsonl), "text_field": "content"}, "abilities.math.corpus")
    parquet = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": ["a"], "url": ["u"]}), parquet)
    check_corpus({"source": str(parquet)}, "general_corpora.en")
    with pytest.raises(CorpusError, match=r"its fields: text, url"):
        check_corpus({"source": str(parquet), "text_field": "body"}, "general_corpora.en")
    with pytest.raises(
        CorpusError, match=r"^general_corpora\.en\.source: corpus file .* not exist"
    ):
        check_corpus({"source": str(tmp_path / "none.jsonl")}, "general_corpora.en")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(CorpusError, match=r"^general_corpora\.en\.source: .*bad\.jsonl"):
        check_corpus({"source": str(bad)}, "general_corpora.en")
