"""The files beside a model: a copy takes none of its source's records or bookkeeping, and a
merged model's directory records the merge."""

import json

import pytest
import torch
from helpers.checkpoints import listing, write_checkpoint
from helpers.tiny import save_tiny_model

from maec.io.hf_dir import copy_model_files, write_hf_directory

pytestmark = pytest.mark.reliability

torch.set_num_threads(1)


def test_a_model_copy_takes_no_record_or_bookkeeping_of_its_source(tmp_path):
    save_tiny_model(tmp_path / "trained")
    for name in ("training.json", "merge.json", ".snakemake_timestamp"):
        (tmp_path / "trained" / name).write_text("{}")
    (tmp_path / "copy").mkdir()
    copy_model_files(tmp_path / "trained", tmp_path / "copy")
    copied = set(listing(tmp_path / "copy"))
    assert "config.json" in copied and "tokenizer.json" in copied
    assert not copied & {"training.json", "merge.json", ".snakemake_timestamp"}


def test_a_merged_model_directory_records_the_merge(tmp_path):
    save_tiny_model(tmp_path / "backbone")
    (tmp_path / "backbone" / "training.json").write_text('{"the backbone": "pretraining"}')
    weights = tmp_path / "merged.safetensors"
    write_checkpoint(
        weights,
        {"t": torch.zeros(2)},
        metadata={"kind": "merge", "gamma": "0.2", "r_lang": "results/deltas/r_lang.safetensors"},
    )
    write_hf_directory(weights, tmp_path / "backbone", tmp_path / "merged.hf")
    assert not (tmp_path / "merged.hf" / "training.json").exists()
    record = json.loads((tmp_path / "merged.hf" / "merge.json").read_text())
    assert record["weights"] == str(weights) and record["model_dir"] == str(tmp_path / "backbone")
    assert record["kind"] == "merge" and record["gamma"] == "0.2"
    assert record["r_lang"] == "results/deltas/r_lang.safetensors"
