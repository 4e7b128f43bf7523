"""Fetching a backbone and benchmark files from the Hugging Face hub (cluster runs).

The demo world needs none of this; these functions run only where the hub is reachable,
and each says which local files would replace it when it is not.
"""

import json
import logging
import os
import re
from pathlib import Path

from maec.io.atomic import atomic_directory, copy_file, write_text

log = logging.getLogger(__name__)


# A hub model id: `name` or `namespace/name`. Anything else (absolute, ./ or ../, more
# than one /) can only be a local directory.
HUB_MODEL_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def fetch_model(source: str, out_dir: str | Path) -> None:
    """A local model directory is linked file by file; anything else is a hub model id."""
    if not Path(source).is_dir() and not HUB_MODEL_ID.fullmatch(source):
        raise FileNotFoundError(
            f"backbone {source!r}: the local model directory {Path(source).resolve()} does "
            "not exist"
        )
    with atomic_directory(out_dir) as tmp:
        if Path(source).is_dir():
            for item in Path(source).iterdir():
                if item.is_file():
                    os.symlink(item.resolve(), tmp / item.name)
        else:
            from huggingface_hub import snapshot_download

            log.info("downloading %s", source)
            try:
                snapshot_download(
                    source,
                    local_dir=tmp,
                    allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"],
                )
            except Exception as err:
                raise RuntimeError(
                    f"backbone {source!r}: could not download it ({err}); set `backbone` to a "
                    "local model directory instead"
                ) from err
        if not (tmp / "config.json").exists():
            raise FileNotFoundError(f"backbone {source!r} has no config.json")


def _hub_file(repo: str, filename: str) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo, filename, repo_type="dataset"))


def fetch_mgsm(repo: str, languages: list[str], questions: list[str], exemplars: str) -> None:
    """MGSM test TSVs (`mgsm_{lang}.tsv` in the data set) and the 8 native chain-of-thought
    exemplars per language (its `train` split) as {lang: [{q, a}]}."""
    from datasets import load_dataset

    for lang, out in zip(languages, questions):
        copy_file(_hub_file(repo, f"mgsm_{lang}.tsv"), out)
    shots = {}
    for lang in languages:
        train = load_dataset(repo, lang, split="train")
        shots[lang] = [{"q": row["question"], "a": row["answer"]} for row in train]
    write_text(exemplars, json.dumps(shots, ensure_ascii=False, indent=1))


def fetch_okapi_mmlu(repo: str, lang: str, split: str, out: str) -> None:
    """One Okapi multilingual MMLU JSON file, `data/{lang}_{split}.json` in the data set."""
    copy_file(_hub_file(repo, f"data/{lang}_{split}.json"), out)
