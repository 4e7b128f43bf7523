"""Fetching a backbone and benchmark files from the Hugging Face hub (cluster runs).

The demo world needs none of this. A repository is a hub id or a local directory laid out
like the repository (the rehearsal's inputs, or a copy made elsewhere): the same files are
read from either, the hub's through `huggingface_hub`. Nothing here runs a data set's
loading script (datasets >= 4 refuses them): MGSM's exemplars are read from the
repository's `exemplars.py` as a literal. What is fetched is checked before it is
published, and every error names the config key and the file.
"""

import ast
import json
import logging
import os
import re
from pathlib import Path

from maec.io.atomic import atomic_directory, copy_file, write_text

log = logging.getLogger(__name__)

# The model, and its card and license: the cards of models made from it take its license.
MODEL_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "README.md", "LICENSE"]

# A hub model id: `name` or `namespace/name`. Anything else (absolute, ./ or ../, more
# than one /) can only be a local directory.
HUB_MODEL_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


class HubError(RuntimeError):
    """A repository or file that cannot be fetched or is not what the workflow needs."""


def check_backbone(model_dir: Path, key: str, source: str) -> None:
    """A loadable backbone: config.json, every weight file its index names (complete), and
    a tokenizer whose ids fit the model's vocabulary."""
    from maec.io.format import CheckpointError
    from maec.io.reader import open_checkpoint

    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise HubError(f"{key}: {source} has no config.json")
    vocab_size = json.loads(config_file.read_text()).get("vocab_size")
    if not isinstance(vocab_size, int):
        raise HubError(f"{key}: {source}: config.json has no vocab_size")
    try:
        checkpoint = open_checkpoint(model_dir)
    except (CheckpointError, OSError) as err:
        raise HubError(f"{key}: {source}: {err}") from err
    embeddings = [n for n in checkpoint.names if n.endswith("embed_tokens.weight")]
    if embeddings and checkpoint.shape(embeddings[0])[0] != vocab_size:
        raise HubError(
            f"{key}: {source}: {embeddings[0]} has {checkpoint.shape(embeddings[0])[0]} rows, "
            f"config.json vocab_size is {vocab_size}"
        )
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as err:
        raise HubError(f"{key}: {source}: no tokenizer that loads ({err})") from err
    if len(tokenizer) > vocab_size:
        raise HubError(
            f"{key}: {source}: the tokenizer ({_tokenizer_file(model_dir)}) has "
            f"{len(tokenizer)} tokens, more than config.json's vocab_size {vocab_size}: "
            "its last ids have no embedding"
        )


def _tokenizer_file(model_dir: Path) -> str:
    for name in ("tokenizer.json", "tokenizer.model", "tokenizer_config.json"):
        if (model_dir / name).is_file():
            return str(model_dir / name)
    return str(model_dir)


def fetch_model(source: str, out_dir: str | Path, key: str = "backbone") -> None:
    """A local model directory is linked file by file; anything else is a hub model id.
    `key` is the config key that names `source` (for messages)."""
    if not Path(source).is_dir() and not HUB_MODEL_ID.fullmatch(source):
        raise FileNotFoundError(
            f"{key}: {source!r}: the local model directory {Path(source).resolve()} does not exist"
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
                snapshot_download(source, local_dir=tmp, allow_patterns=MODEL_FILES)
            except Exception as err:
                raise HubError(
                    f"{key}: could not download {source!r} ({type(err).__name__}: {err}); "
                    "set it to a local model directory instead"
                ) from err
        check_backbone(tmp, key, source)


def hub_file(repo: str, filename: str, key: str) -> Path:
    """`filename` of a data-set repository: a hub id, or a local directory laid out like it."""
    if Path(repo).is_dir():
        path = Path(repo) / filename
        if not path.is_file():
            raise HubError(f"{key}: {repo} has no {filename}, which the hub repository holds")
        return path
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo, filename, repo_type="dataset"))
    except Exception as err:
        raise HubError(
            f"{key}: could not download {filename} of data set {repo!r} "
            f"({type(err).__name__}: {err})"
        ) from err


def read_mgsm_exemplars(path: Path) -> dict[str, list[dict]]:
    """The MGSM_EXEMPLARS literal of the MGSM repository's exemplars.py, as {lang: [{q, a}]}
    in exemplar order. The file is parsed, never run."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MGSM_EXEMPLARS" for t in node.targets
        ):
            table = ast.literal_eval(node.value)
            return {
                lang: [{"q": e["q"], "a": e["a"]} for _, e in sorted(items.items(), key=_number)]
                for lang, items in table.items()
            }
    raise HubError(f"{path}: no MGSM_EXEMPLARS = {{...}} literal")


def _number(item) -> int:
    return int(item[0])


def fetch_mgsm(
    repo: str, languages: list[str], questions: list[str], exemplars: str, key: str
) -> None:
    """MGSM test TSVs (`mgsm_{lang}.tsv` in the repository) and its 8 native chain-of-thought
    exemplars per language (`exemplars.py`) as {lang: [{q, a}]}."""
    table = read_mgsm_exemplars(hub_file(repo, "exemplars.py", key))
    missing = [lang for lang in languages if lang not in table]
    if missing:
        raise HubError(f"{key}: {repo}/exemplars.py has no exemplars for {', '.join(missing)}")
    sources = [hub_file(repo, f"mgsm_{lang}.tsv", key) for lang in languages]
    for source, out in zip(sources, questions):
        copy_file(source, out)
    shots = {lang: table[lang] for lang in languages}
    write_text(exemplars, json.dumps(shots, ensure_ascii=False, indent=1))


def fetch_okapi_mmlu(repo: str, lang: str, split: str, out: str, key: str) -> None:
    """One Okapi multilingual MMLU JSON file, `data/{lang}_{split}.json` in the data set."""
    copy_file(hub_file(repo, f"data/{lang}_{split}.json", key), out)
