"""JSON Lines files, read by one rule wherever the package reads them.

A blank line (nothing but white space) holds no record and is skipped wherever it stands:
files joined end to end or saved by an editor carry them, and none of them is a document.
Every other line must be one JSON value in UTF-8; a line that is not is an error naming the
file and the line, so that no record is ever dropped unnoticed. The corpus packer, the
corpus check and the demo world's tokenizer trainer all read through this module, so a
file one of them accepts, the others accept too; the benchmark loaders
(`maec.evaluation.loaders`) skip blank lines by the same `is_blank`.
"""

import json
from collections.abc import Iterator
from pathlib import Path


class JsonlError(ValueError):
    """A line of a JSON Lines file that is not a record its reader can use."""


def _line(path: str | Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JsonlError(f"{path}:{number}: not UTF-8 text ({err.reason})") from None


def _value(path: str | Path, number: int, line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise JsonlError(f"{path}:{number}: not valid JSON ({err})") from None


def is_blank(line: str) -> bool:
    """A line that holds no record: nothing but white space (the rule of every line-based
    reader in the package, benchmark files included)."""
    return not line.strip()


def jsonl_records(path: str | Path) -> Iterator[tuple[int, object]]:
    """(line number, value) of every non-blank line of `path`, in file order."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            line = _line(path, number, raw)
            if not is_blank(line):
                yield number, _value(path, number, line)


def jsonl_texts(path: str | Path, text_field: str = "text") -> Iterator[tuple[int, str]]:
    """(line number, text) of every record of `path`; each record must be an object whose
    `text_field` is a string."""
    for number, record in jsonl_records(path):
        if not isinstance(record, dict) or text_field not in record:
            raise JsonlError(f"{path}:{number}: no text field {text_field!r}")
        if not isinstance(record[text_field], str):
            raise JsonlError(f"{path}:{number}: field {text_field!r} is not a string")
        yield number, record[text_field]
