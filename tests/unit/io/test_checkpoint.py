"""Lazy safetensors checkpoints: reading, validation, streamed writing, HF directories."""

import json
import struct

import pytest
import torch
from helpers.checkpoints import (
    LLAMA_SHAPES,
    listing,
    load_checkpoint,
    random_tensors,
    write_checkpoint,
)
from helpers.tiny import llama

from maec.io.format import CheckpointError
from maec.io.hf_dir import write_hf_directory
from maec.io.reader import check_compatible, fingerprint, open_checkpoint
from maec.io.writer import CheckpointWriter


@pytest.mark.parametrize("layout", ["file", "dir", "sharded"])
def test_reads_every_layout_exactly(tmp_path, layout):
    tensors = random_tensors(LLAMA_SHAPES, 0, torch.bfloat16)
    tensors["scalar"] = torch.tensor(3.5)
    path = {"file": tmp_path / "m.safetensors", "dir": tmp_path / "m", "sharded": tmp_path / "s"}[
        layout
    ]
    write_checkpoint(path, tensors, shards=3 if layout == "sharded" else 1, metadata={"kind": "x"})
    ckpt = open_checkpoint(str(path))
    assert ckpt.names == sorted(tensors)
    assert ckpt.metadata["kind"] == "x"
    for name, tensor in tensors.items():
        assert ckpt.shape(name) == tuple(tensor.shape)
        assert ckpt.dtype(name) == tensor.dtype
        assert torch.equal(ckpt.read(name), tensor)
        chunks = list(ckpt.iter_rows(name, chunk_bytes=13))
        assert [start for start, _ in chunks] == sorted(start for start, _ in chunks)
        joined = torch.cat([c.reshape(-1) for _, c in chunks]) if tensor.dim() else chunks[0][1]
        assert torch.equal(joined.reshape(tensor.shape), tensor)
    assert len(list(ckpt.iter_rows("model.embed_tokens.weight", chunk_bytes=13))) == 11


def test_reused_buffer_rows_match(tmp_path):
    tensors = random_tensors({"w": (7, 5)}, 1)
    ckpt = open_checkpoint(write_checkpoint(tmp_path / "m.safetensors", tensors))
    rows = [
        (start, chunk.clone())
        for start, chunk in ckpt.iter_rows("w", chunk_bytes=40, reuse_buffer=True)
    ]
    assert [start for start, _ in rows] == [0, 2, 4, 6]
    assert torch.equal(torch.cat([c for _, c in rows]), tensors["w"])


def test_missing_shard_is_named(tmp_path):
    path = write_checkpoint(tmp_path / "s", random_tensors(LLAMA_SHAPES, 0), shards=2)
    (path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors.*missing"):
        open_checkpoint(path)


def test_truncated_shard_names_file_and_tensor(tmp_path):
    path = write_checkpoint(tmp_path / "s", random_tensors(LLAMA_SHAPES, 0), shards=2)
    shard = path / "model-00001-of-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-10])
    header_names = json.loads(
        shard.read_bytes()[8 : 8 + struct.unpack("<Q", shard.read_bytes()[:8])[0]]
    )
    last = max(
        (k for k in header_names if k != "__metadata__"),
        key=lambda k: header_names[k]["data_offsets"][1],
    )
    with pytest.raises(
        CheckpointError, match=f"model-00001-of-00002.safetensors: tensor {last}: file is truncated"
    ):
        open_checkpoint(path)


def test_corrupt_header_and_missing_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", 4) + b"{{{{")
    with pytest.raises(CheckpointError, match="bad.safetensors: corrupt"):
        open_checkpoint(bad)
    with pytest.raises(CheckpointError, match="nothere.safetensors: checkpoint is missing"):
        open_checkpoint(tmp_path / "nothere.safetensors")
    with pytest.raises(CheckpointError, match="neither model.safetensors"):
        open_checkpoint(tmp_path)


def test_check_compatible_names_both_files_and_tensor(tmp_path):
    tensors = random_tensors(LLAMA_SHAPES, 0)
    a = write_checkpoint(tmp_path / "a.safetensors", tensors)
    check_compatible(
        a, write_checkpoint(tmp_path / "same.safetensors", random_tensors(LLAMA_SHAPES, 1))
    )
    renamed = dict(tensors)
    renamed["extra.weight"] = renamed.pop("model.norm.weight")
    with pytest.raises(
        CheckpointError,
        match=r"a.safetensors and .*names.safetensors differ in tensor names: "
        r"model.norm.weight is only in .*a.safetensors",
    ):
        check_compatible(a, write_checkpoint(tmp_path / "names.safetensors", renamed))
    reshaped = dict(tensors, **{"model.norm.weight": torch.zeros(7)})
    with pytest.raises(
        CheckpointError, match=r"shape.safetensors differ at tensor model.norm.weight: shape"
    ):
        check_compatible(a, write_checkpoint(tmp_path / "shape.safetensors", reshaped))
    retyped = dict(tensors, **{"model.norm.weight": tensors["model.norm.weight"].bfloat16()})
    other = write_checkpoint(tmp_path / "dtype.safetensors", retyped)
    with pytest.raises(
        CheckpointError, match=r"dtype.safetensors differ at tensor model.norm.weight: dtype"
    ):
        check_compatible(a, other)
    check_compatible(a, other, check_dtypes=False)


def test_fingerprint_ties_names_and_shapes_not_dtypes(tmp_path):
    a = write_checkpoint(
        tmp_path / "a.safetensors", random_tensors(LLAMA_SHAPES, 0, torch.bfloat16)
    )
    b = write_checkpoint(tmp_path / "b.safetensors", random_tensors(LLAMA_SHAPES, 1, torch.float32))
    shapes = dict(LLAMA_SHAPES, **{"model.norm.weight": (5,)})
    c = write_checkpoint(tmp_path / "c.safetensors", random_tensors(shapes, 0))
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
    assert fingerprint(a, include_dtypes=True) != fingerprint(b, include_dtypes=True)


@pytest.mark.parametrize("max_shard_bytes", [None, 200])
def test_writer_round_trip_readable_by_safetensors(tmp_path, max_shard_bytes):
    tensors = random_tensors(LLAMA_SHAPES, 2, torch.bfloat16)
    layout = {name: (t.shape, t.dtype) for name, t in sorted(tensors.items())}
    out = tmp_path / "out.safetensors"
    with CheckpointWriter(out, layout, {"kind": "test"}, max_shard_bytes=max_shard_bytes) as writer:
        for name, tensor in sorted(tensors.items()):
            for start in range(0, tensor.shape[0], 3):
                writer.write(name, start, tensor[start : start + 3])
    loaded = load_checkpoint(out)
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[n], tensors[n]) for n in tensors)
    assert open_checkpoint(out).metadata == {"format": "pt", "kind": "test"}
    assert out.is_dir() == (max_shard_bytes is not None)
    if max_shard_bytes:
        assert len(list(out.glob("model-*-of-*.safetensors"))) > 1
    assert [p for p in listing(tmp_path) if ".tmp" in p] == []


@pytest.mark.parametrize("max_shard_bytes", [None, 200])
def test_writer_leaves_nothing_on_error(tmp_path, max_shard_bytes):
    layout = {"a": ((4, 2), torch.float32), "b": ((3,), torch.float32)}
    with pytest.raises(RuntimeError, match="boom"):
        with CheckpointWriter(
            tmp_path / "o.safetensors", layout, max_shard_bytes=max_shard_bytes
        ) as writer:
            writer.write("a", 0, torch.zeros(4, 2))
            raise RuntimeError("boom")
    assert listing(tmp_path) == []
    with pytest.raises(CheckpointError, match="closed before tensor b was complete"):
        with CheckpointWriter(
            tmp_path / "o.safetensors", layout, max_shard_bytes=max_shard_bytes
        ) as writer:
            writer.write("a", 0, torch.zeros(4, 2))
    assert listing(tmp_path) == []
    with pytest.raises(CheckpointError, match="expected a row 0"):
        with CheckpointWriter(
            tmp_path / "o.safetensors", layout, max_shard_bytes=max_shard_bytes
        ) as writer:
            writer.write("b", 0, torch.zeros(3))
    assert listing(tmp_path) == []


def test_writer_replaces_existing_output(tmp_path):
    out = tmp_path / "o.safetensors"
    for value in (1.0, 2.0):
        with CheckpointWriter(out, {"a": ((2,), torch.float32)}) as writer:
            writer.write("a", 0, torch.full((2,), value))
    assert torch.equal(open_checkpoint(out).read("a"), torch.full((2,), 2.0))


def test_hf_directory_loads_with_transformers(tmp_path):
    from transformers import AutoModelForCausalLM

    model = llama(50, dtype=torch.bfloat16)
    model.save_pretrained(tmp_path / "base")
    (tmp_path / "base" / "tokenizer_config.json").write_text("{}")
    state = {k: v + 1 for k, v in model.state_dict().items()}
    weights = write_checkpoint(tmp_path / "merged.safetensors", state)
    write_hf_directory(weights, tmp_path / "base", tmp_path / "hf")
    assert (tmp_path / "hf" / "tokenizer_config.json").exists()
    assert (tmp_path / "hf" / "model.safetensors").stat().st_ino == weights.stat().st_ino
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    assert loaded.dtype == torch.bfloat16
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, state[name]), name
