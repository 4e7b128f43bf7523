"""Hugging Face model directories that `from_pretrained` loads: a model's config and
tokenizer files beside new weights."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from maec.io.atomic import atomic_directory
from maec.io.format import INDEX_NAME, SINGLE_NAME, CheckpointError, is_weight_file
from maec.io.reader import open_checkpoint


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link (no space), or a copy where linking fails (another file system)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# What the project writes beside a model to say how it was made and what it is (the card and
# provenance of `maec.io.lineage`, as a hub download's card): never a copy's.
RECORD_NAMES = ("training.json", "merge.json", "README.md", "provenance.json")
MERGE_RECORD = "merge.json"


def is_model_file(name: str) -> bool:
    """A file that belongs to the model itself (config, generation config, tokenizer) and
    goes with it into a new directory: not its weights, not the record of how it was made or
    its card (RECORD_NAMES) and no hidden bookkeeping file (Snakemake's `.snakemake_timestamp`)."""
    return not (is_weight_file(name) or name in RECORD_NAMES or name.startswith("."))


def copy_model_files(model_dir: str | os.PathLike, out_dir: str | os.PathLike) -> None:
    """Copy the model's own files (`is_model_file`) of a model directory."""
    for item in sorted(Path(model_dir).iterdir()):
        if item.is_file() and is_model_file(item.name):
            shutil.copy2(item, Path(out_dir) / item.name)


def _match_config_dtype(config_file: Path, dtype: str) -> None:
    """Make the config's dtype (`dtype`, or the older `torch_dtype`) the weights' dtype:
    `from_pretrained(dtype="auto")` loads in the config's dtype, and would round float32
    weights to the backbone's bf16."""
    config = json.loads(config_file.read_text())
    keys = [key for key in ("dtype", "torch_dtype") if key in config] or ["dtype"]
    if all(config[key] == dtype for key in keys if key in config):
        return
    config.update(dict.fromkeys(keys, dtype))
    config_file.write_text(json.dumps(config, indent=2) + "\n")


def write_hf_directory(weights_file, model_dir, out_dir) -> None:
    """A from_pretrained-loadable directory: the model's config and tokenizer files, new weights.

    `weights_file` is one safetensors file (linked as model.safetensors) or a sharded
    directory (its shards and index are linked). Hard links cost no space; a copy is
    made where linking fails (another file system). When every floating tensor of the
    weights has one dtype that the config does not name (a float32 merge of a bf16
    backbone), the config's dtype is set to it. `merge.json` records what the directory
    is: the weights and their metadata (the kind of merge, its inputs and coefficients).
    """
    weights = Path(weights_file)
    model_dir = Path(model_dir)
    ckpt = open_checkpoint(weights)  # validate before writing anything
    if not (model_dir / "config.json").exists():
        raise CheckpointError(f"{model_dir}: no config.json in the model directory")
    floating = {ckpt.dtype(n) for n in ckpt.names if ckpt.dtype(n).is_floating_point}
    with atomic_directory(out_dir) as tmp:
        copy_model_files(model_dir, tmp)
        if len(floating) == 1:
            _match_config_dtype(tmp / "config.json", str(floating.pop()).removeprefix("torch."))
        if weights.is_dir():
            for item in sorted(weights.iterdir()):
                if item.name.endswith(".safetensors") or item.name == INDEX_NAME:
                    link_or_copy(item, tmp / item.name)
        else:
            link_or_copy(weights, tmp / SINGLE_NAME)
        record = {"weights": str(weights), "model_dir": str(model_dir), **ckpt.metadata}
        (tmp / MERGE_RECORD).write_text(json.dumps(record, indent=2) + "\n")
