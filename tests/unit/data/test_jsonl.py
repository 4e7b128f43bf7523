"""One rule for every JSON Lines reader: blank lines are skipped, any other line that is not
a record names the file and the line. The corpus packer, the corpus check and the demo
world's tokenizer trainer read the same files the same way."""

import json

import pytest

from maec.data.jsonl import JsonlError, jsonl_records
from maec.data.sources import CorpusError, check_corpus
from maec.data.tokens import iter_documents
from maec.world.tokenizer import _texts as tokenizer_texts

pytestmark = pytest.mark.reliability

KEY = "general_corpora.en"


def _read_for_packing(path):
    return list(iter_documents(path))


def _read_for_the_tokenizer(path):
    return list(tokenizer_texts([path], max_docs_per_corpus=None, seed=0))


def _read_records(path):
    return [record["text"] for _, record in jsonl_records(path)]


READERS = [_read_for_packing, _read_for_the_tokenizer, _read_records]


def _corpus(path, lines):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _doc(text):
    return json.dumps({"text": text}).encode()


@pytest.mark.parametrize("read", READERS)
def test_every_reader_skips_blank_lines(tmp_path, read):
    path = _corpus(tmp_path / "c.jsonl", [b"", _doc("one"), b"  \t", _doc("two"), b"\r", b""])
    assert read(path) == ["one", "two"]


def test_the_corpus_check_reads_the_first_record_after_blank_lines(tmp_path):
    path = _corpus(tmp_path / "c.jsonl", [b"", b"   ", _doc("one")])
    check_corpus({"source": str(path)}, KEY)
    with pytest.raises(CorpusError, match=rf"^{KEY}.text_field: 'body' is not a field"):
        check_corpus({"source": str(path), "text_field": "body"}, KEY)


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize(
    "bad, message",
    [
        (b"{not json", r"c.jsonl:3: not valid JSON"),
        (b'{"text": "caf\xe9"}', r"c.jsonl:3: not UTF-8 text"),
    ],
)
def test_every_reader_names_file_and_line_of_a_bad_line(tmp_path, read, bad, message):
    path = _corpus(tmp_path / "c.jsonl", [_doc("one"), b"", bad, _doc("two")])
    with pytest.raises(JsonlError, match=message):
        read(path)


@pytest.mark.parametrize("read", [_read_for_packing, _read_for_the_tokenizer])
@pytest.mark.parametrize(
    "bad, message",
    [
        (b'{"body": "one"}', r"c.jsonl:2: no text field 'text'"),
        (b'["one"]', r"c.jsonl:2: no text field 'text'"),
        (b'{"text": 1}', r"c.jsonl:2: field 'text' is not a string"),
    ],
)
def test_text_readers_name_file_and_line_of_a_record_without_text(tmp_path, read, bad, message):
    path = _corpus(tmp_path / "c.jsonl", [_doc("one"), bad])
    with pytest.raises(JsonlError, match=message):
        read(path)


def test_the_corpus_check_names_file_and_line_of_a_bad_first_record(tmp_path):
    path = _corpus(tmp_path / "c.jsonl", [b"", b"{not json"])
    with pytest.raises(CorpusError, match=rf"^{KEY}.source: .*c.jsonl:2: not valid JSON"):
        check_corpus({"source": str(path)}, KEY)
    path = _corpus(tmp_path / "c.jsonl", [b"", b'["one"]'])
    with pytest.raises(CorpusError, match=rf"^{KEY}.source: .*c.jsonl:2: .* not a JSON object"):
        check_corpus({"source": str(path)}, KEY)


def test_the_tokenizer_samples_records_not_lines(tmp_path):
    path = _corpus(tmp_path / "c.jsonl", [_doc("one"), b"", b"", b"", _doc("two")])
    texts = list(tokenizer_texts([path], max_docs_per_corpus=2, seed=0))
    assert sorted(texts) == ["one", "two"]
