"""Local stand-ins for the paper's corpora, in the hub's layouts, from real text.

Each is a directory that `datasets.load_dataset` reads as it reads the hub repository:

    uonlp/CulturaX/{lang}/{lang}_part_00000.parquet   text, timestamp, url, source; one
                                                       configuration per language (README)
    open-web-math/open-web-math/data/train-00000-of-00001.parquet   url, text, date, metadata
    common-pile/arxiv_papers_filtered/arxiv_papers/arxiv-papers-0000.json.gz
                                                       Dolma documents: id, text, source,
                                                       added, created, metadata

The text is real: FLORES-200 sentences (general text, every language; its English
science/technology and health sentences stand in for arXiv papers) and GSM8K training
problems with their worked answers (OpenWebMath).
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

FLORES_CODES = {
    "en": "eng_Latn",
    "es": "spa_Latn",
    "zh": "zho_Hans",
    "bn": "ben_Beng",
    "te": "tel_Telu",
}
FLORES_SPLITS = ("train", "dev", "test")
SCIENCE_CATEGORIES = ("science/technology", "health")
SENTENCES_PER_DOCUMENT = 4
CULTURAX = "uonlp/CulturaX"
OPEN_WEB_MATH = "open-web-math/open-web-math"
ARXIV = "common-pile/arxiv_papers_filtered"
# One date for every generated record: the files depend on the data alone.
DATE = "2024-01-01T00:00:00Z"


def flores_sentences(data_dir, lang: str, categories=None) -> list[dict]:
    """FLORES-200 rows of a language ({index_id, category, text}), every split, file order."""
    if lang not in FLORES_CODES:
        raise ValueError(f"no FLORES-200 text for language {lang!r}: {', '.join(FLORES_CODES)}")
    rows = []
    for split in FLORES_SPLITS:
        path = Path(data_dir) / "flores_sib200" / f"{FLORES_CODES[lang]}_{split}.tsv"
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                if categories is None or row["category"] in categories:
                    rows.append({**row, "split": split})
    return rows


def documents(rows: list[dict], lang: str) -> list[dict]:
    """Consecutive sentences joined into documents of SENTENCES_PER_DOCUMENT sentences."""
    glue = "" if lang == "zh" else " "
    docs = []
    for start in range(0, len(rows), SENTENCES_PER_DOCUMENT):
        part = rows[start : start + SENTENCES_PER_DOCUMENT]
        docs.append(
            {
                "text": glue.join(r["text"] for r in part),
                "id": f"flores200/{lang}/{part[0]['split']}/{part[0]['index_id']}",
            }
        )
    return docs


def _write_parquet(path: Path, columns: dict[str, list]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def write_culturax(repo: Path, data_dir, languages: list[str]) -> None:
    """CulturaX: one configuration per language, named after it, its parquet parts in `{lang}/`."""
    card = ["---", "configs:"]
    for lang in languages:
        docs = documents(flores_sentences(data_dir, lang), lang)
        _write_parquet(
            repo / lang / f"{lang}_part_00000.parquet",
            {
                "text": [d["text"] for d in docs],
                "timestamp": [DATE] * len(docs),
                "url": [d["id"] for d in docs],
                "source": ["flores200"] * len(docs),
            },
        )
        card += [
            f"- config_name: {lang}",
            "  data_files:",
            "  - split: train",
            f"    path: {lang}/*.parquet",
        ]
    card += ["---", "", "CulturaX stand-in: FLORES-200 sentences, grouped into documents.", ""]
    (repo / "README.md").write_text("\n".join(card), encoding="utf-8")


def write_open_web_math(repo: Path, data_dir) -> None:
    """OpenWebMath: one train split of parquet files in `data/`; GSM8K problems as pages."""
    path = Path(data_dir) / "gsm8k" / "train.jsonl"
    with open(path, encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle if line.strip()]
    _write_parquet(
        repo / "data" / "train-00000-of-00001.parquet",
        {
            "url": [f"gsm8k/train/{i}" for i in range(len(problems))],
            "text": [f"{p['question']}\n{p['answer']}" for p in problems],
            "date": [DATE] * len(problems),
            "metadata": [json.dumps({"source": "gsm8k"})] * len(problems),
        },
    )


def write_arxiv(repo: Path, data_dir) -> None:
    """arXiv papers as Common Pile ships them: gzipped Dolma JSON lines, one train split."""
    docs = documents(flores_sentences(data_dir, "en", SCIENCE_CATEGORIES), "en")
    path = repo / "arxiv_papers" / "arxiv-papers-0000.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for doc in docs:
            record = {
                "id": doc["id"],
                "text": doc["text"],
                "source": "arxiv_papers",
                "added": DATE,
                "created": DATE,
                "metadata": {"license": "CC BY-SA 4.0"},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
