"""Table 6: the statistics of the training and evaluation data, as the run used them: the
tokens of each corpus (its packed blocks), and the items of each benchmark and language
that the backbone was scored on."""

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd


def corpus_statistics(summaries: Mapping[str, object]) -> pd.DataFrame:
    """One row per corpus (name -> its token blocks' summary JSON): source, documents read,
    tokens read and tokens packed into whole blocks (those the training runs draw from)."""
    rows = {}
    for corpus, path in summaries.items():
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
        rows[corpus] = dict(
            source=summary["source"],
            documents=summary["documents"],
            tokens_read=summary["tokens_read"],
            tokens=summary["tokens"],
        )
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "corpus"
    return frame


def benchmark_statistics(score_files) -> pd.DataFrame:
    """Items per benchmark (rows) and language (columns), from score files: the items
    scored (a benchmark's `limit` caps them)."""
    counts: dict[str, dict[str, int]] = {}
    for path in score_files:
        score = json.loads(Path(path).read_text(encoding="utf-8"))
        counts.setdefault(score["bench"], {})[score["lang"]] = score["n"]
    frame = pd.DataFrame.from_dict(counts, orient="index").astype("Int64")
    frame.index.name = "benchmark"
    return frame
