"""Where a corpus comes from: a local file, a local data-set directory or a hub data set.

`source_form` tells from the configuration alone which of the three a corpus entry names
(the workflow calls it while it plans, so a corpus that cannot load stops the run before
any job starts). `check_corpus` opens the corpus and reads its first record (the tokenize
job calls it before tokenizing): an unreachable data set or a missing text column is one
message naming the config key and the source. `dataset_documents` streams the text column
of a data set with `datasets.load_dataset`, the same call for a hub id and a local
directory laid out like the hub repository.

This module imports nothing heavy at load time: the workflow imports it while planning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from maec.data.jsonl import JsonlError, jsonl_records

LOCAL_SUFFIXES = (".jsonl", ".txt", ".parquet")
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


class CorpusError(ValueError):
    """A corpus that cannot be read: the message names the config key and the source."""


def source_form(source: str, name: str | None = None, data_files=None) -> str:
    """ "file" (a local .jsonl/.txt/.parquet file, present or made by an earlier rule),
    "directory" (a local data set) or "hub" (a hub data-set id, namespace/name)."""
    path = Path(source)
    if path.suffix.lower() in LOCAL_SUFFIXES:
        if name is not None or data_files is not None:
            raise CorpusError(
                f"{source}: a local file is read whole; `name` and `data_files` are for "
                "data sets (a hub id or a local data-set directory)"
            )
        return "file"
    if path.is_dir():
        return "directory"
    if HUB_ID.fullmatch(source):
        return "hub"
    raise CorpusError(
        f"{source!r} is neither a local file ({', '.join(LOCAL_SUFFIXES)}), an existing "
        "data-set directory, nor a hub data-set id (namespace/name)"
    )


def _load_dataset(corpus: dict):
    try:
        import datasets
    except ImportError:
        raise ImportError(
            f"{corpus['source']!r} is not a local file, and reading it as a data set needs "
            "the package 'datasets'"
        ) from None
    return datasets.load_dataset(
        corpus["source"],
        corpus.get("name"),
        data_files=corpus.get("data_files"),
        split=corpus.get("split", "train"),
        streaming=True,
    )


def _file_fields(path: Path, key: str) -> list[str] | None:
    """The fields of a local corpus file's first record (None for .txt: no fields; a JSONL
    file is read by the rule of `maec.data.jsonl`, blank lines skipped)."""
    if not path.is_file():
        raise CorpusError(f"{key}.source: corpus file {path} does not exist")
    try:
        if path.suffix == ".txt":
            return None
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        number, record = next(jsonl_records(path), (0, {}))
    except JsonlError as err:
        raise CorpusError(f"{key}.source: {err}") from err
    except (OSError, ValueError) as err:
        raise CorpusError(f"{key}.source: {path}: {err}") from err
    if not isinstance(record, dict):
        raise CorpusError(f"{key}.source: {path}:{number}: a record is not a JSON object")
    return list(record)


def _dataset_fields(corpus: dict, key: str) -> list[str]:
    """The fields of a data set's first record (a hub id or a local directory)."""
    source = corpus["source"]
    try:
        record = next(iter(_load_dataset(corpus)), None)
    except Exception as err:  # network, missing configuration, loading script, bad files
        raise CorpusError(
            f"{key}.source: cannot load {source!r} (name {corpus.get('name')!r}, split "
            f"{corpus.get('split', 'train')!r}) with datasets.load_dataset: "
            f"{type(err).__name__}: {err}"
        ) from err
    if record is None:
        raise CorpusError(f"{key}.source: {source!r} has no records")
    return list(record)


def check_corpus(corpus: dict, key: str) -> None:
    """The corpus `corpus` (a config entry; `key` names it, e.g. general_corpora.es) loads
    and its first record has the text field."""
    try:
        form = source_form(corpus["source"], corpus.get("name"), corpus.get("data_files"))
    except CorpusError as err:
        raise CorpusError(f"{key}.source: {err}") from None
    if form == "file":
        fields = _file_fields(Path(corpus["source"]), key)
    else:
        fields = _dataset_fields(corpus, key)
    text_field = corpus.get("text_field", "text")
    if fields is not None and text_field not in fields:
        raise CorpusError(
            f"{key}.text_field: {text_field!r} is not a field of {corpus['source']} "
            f"(its fields: {', '.join(fields)})"
        )


def dataset_documents(
    source: str, *, text_field: str, split: str, name: str | None, data_files=None
) -> Iterator[str]:
    """The `text_field` of every record of a data set (a hub id or a local directory),
    streamed."""
    corpus = dict(source=source, name=name, split=split, data_files=data_files)
    for i, record in enumerate(_load_dataset(corpus)):
        if text_field not in record:
            raise KeyError(
                f"dataset {source!r} ({name}, split {split!r}), record {i}: "
                f"no text field {text_field!r}"
            )
        yield record[text_field]
