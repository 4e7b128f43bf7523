"""Local stand-ins for the benchmark repositories, in the hub's layouts.

    juletxara/mgsm/mgsm_{lang}.tsv      test questions, question<TAB>answer (copies)
    juletxara/mgsm/exemplars.py         the 8 chain-of-thought exemplars per language, as the
                                        repository writes them (a literal MGSM_EXEMPLARS)
    juletxara/mgsm/mgsm.py              the repository's loading script (never run)
    jon-tow/okapi_mmlu/data/{lang}_{split}.json   Okapi items, splits dev, val and test

The local copies hold Okapi's dev and val splits only; the test split is written from val
(the rehearsal checks that everything runs, not what it scores).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

MGSM = "juletxara/mgsm"
OKAPI_MMLU = "jon-tow/okapi_mmlu"
OKAPI_SPLITS = {"dev": "dev", "val": "val", "test": "val"}  # hub split -> local copy

LOADING_SCRIPT = '''"""The hub repository's MGSM loading script; datasets >= 4 runs no scripts,
so maec.data.hub reads mgsm_{lang}.tsv and exemplars.py instead."""

raise RuntimeError("dataset scripts are not run")
'''


def write_mgsm(repo: Path, data_dir, languages: list[str]) -> None:
    source = Path(data_dir) / "mgsm"
    repo.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        shutil.copyfile(source / f"mgsm_{lang}.tsv", repo / f"mgsm_{lang}.tsv")
    table = json.loads((source / "exemplars.json").read_text(encoding="utf-8"))
    numbered = {
        lang: {str(i): {"q": item["q"], "a": item["a"]} for i, item in enumerate(items, 1)}
        for lang, items in table.items()
    }
    # JSON with ASCII escapes is also a Python literal, as the repository's file is.
    (repo / "exemplars.py").write_text(
        '"""Prompts for mgsm."""\n\nMGSM_EXEMPLARS = '
        + json.dumps(numbered, indent=4, ensure_ascii=True)
        + "\n",
        encoding="utf-8",
    )
    (repo / "mgsm.py").write_text(LOADING_SCRIPT, encoding="utf-8")


def write_okapi_mmlu(repo: Path, data_dir, languages: list[str]) -> None:
    source = Path(data_dir) / "okapi_m_mmlu"
    (repo / "data").mkdir(parents=True, exist_ok=True)
    for lang in languages:
        for split, local in OKAPI_SPLITS.items():
            shutil.copyfile(source / f"{lang}_{local}.json", repo / "data" / f"{lang}_{split}.json")
