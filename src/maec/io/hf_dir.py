"""Hugging Face model directories that `from_pretrained` loads: a model's config and
tokenizer files beside new weights."""

from __future__ import annotations

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


def copy_model_files(model_dir: str | os.PathLike, out_dir: str | os.PathLike) -> None:
    """Copy the files of a model directory that are not weights (config, tokenizer, ...)."""
    for item in sorted(Path(model_dir).iterdir()):
        if item.is_file() and not is_weight_file(item.name):
            shutil.copy2(item, Path(out_dir) / item.name)


def write_hf_directory(weights_file, model_dir, out_dir) -> None:
    """A from_pretrained-loadable directory: the model's config and tokenizer files, new weights.

    `weights_file` is one safetensors file (linked as model.safetensors) or a sharded
    directory (its shards and index are linked). Hard links cost no space; a copy is
    made where linking fails (another file system).
    """
    weights = Path(weights_file)
    model_dir = Path(model_dir)
    open_checkpoint(weights)  # validate before writing anything
    if not (model_dir / "config.json").exists():
        raise CheckpointError(f"{model_dir}: no config.json in the model directory")
    with atomic_directory(out_dir) as tmp:
        copy_model_files(model_dir, tmp)
        if weights.is_dir():
            for item in sorted(weights.iterdir()):
                if item.name.endswith(".safetensors") or item.name == INDEX_NAME:
                    link_or_copy(item, tmp / item.name)
        else:
            link_or_copy(weights, tmp / SINGLE_NAME)
