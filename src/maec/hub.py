"""Fetching a backbone and benchmark files from the Hugging Face hub (cluster runs).

The demo world needs none of this; these functions run only where the hub is reachable,
and each says which local files would replace it when it is not.
"""

import json
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def fetch_model(source: str, out_dir: str | Path) -> None:
    """A local model directory is linked file by file; anything else is a hub model id."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if Path(source).is_dir():
        tmp.mkdir(parents=True)
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
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(
                f"backbone {source!r}: could not download it ({err}); set `backbone` to a "
                "local model directory instead"
            ) from err
    if not (tmp / "config.json").exists():
        shutil.rmtree(tmp)
        raise FileNotFoundError(f"backbone {source!r} has no config.json")
    tmp.rename(out_dir)


def _hub_file(repo: str, filename: str) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo, filename, repo_type="dataset"))


def fetch_mgsm(repo: str, languages: list[str], questions: list[str], exemplars: str) -> None:
    """MGSM test TSVs (`mgsm_{lang}.tsv` in the data set) and the 8 native chain-of-thought
    exemplars per language (its `train` split) as {lang: [{q, a}]}."""
    from datasets import load_dataset

    for lang, out in zip(languages, questions):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_hub_file(repo, f"mgsm_{lang}.tsv"), out)
    shots = {}
    for lang in languages:
        train = load_dataset(repo, lang, split="train")
        shots[lang] = [{"q": row["question"], "a": row["answer"]} for row in train]
    tmp = Path(exemplars).with_suffix(".tmp")
    tmp.write_text(json.dumps(shots, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.rename(exemplars)


def fetch_okapi_mmlu(repo: str, lang: str, split: str, out: str) -> None:
    """One Okapi multilingual MMLU JSON file, `data/{lang}_{split}.json` in the data set."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(out).with_suffix(".tmp")
    shutil.copyfile(_hub_file(repo, f"data/{lang}_{split}.json"), tmp)
    tmp.rename(out)
