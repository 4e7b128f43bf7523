"""Sparse deltas (`deltas.format: sparse`) and ability packs: the format by hand, read back
bit for bit as dense tensors, the same R(A), R_Lang, similarity and merge as dense deltas,
and a pack refused on another backbone."""

import json

import pytest
import torch
from helpers.checkpoints import LLAMA_SHAPES, listing, load_checkpoint, random_tensors
from helpers.checkpoints import write_checkpoint as save_checkpoint

from maec.combination.merge import write_merge
from maec.combination.similarity import similarity_rows
from maec.deltas.ability import write_ability_weights
from maec.deltas.language import write_language_weights, write_r_lang
from maec.deltas.packs import write_ability_pack
from maec.io.format import CheckpointError
from maec.io.reader import open_checkpoint
from maec.io.sparse import SparseCheckpointWriter, sparse_nbytes
from maec.io.writer import CheckpointWriter


def bits(t):
    return t.view({1: torch.uint8, 2: torch.int16, 4: torch.int32}[t.element_size()])


def write_with(writer_class, path, tensors, **kwargs):
    layout = {name: (tuple(t.shape), t.dtype) for name, t in tensors.items()}
    with writer_class(path, layout, {"kind": "test"}, **kwargs) as writer:
        for name, tensor in tensors.items():
            rows = tensor.shape[0] if tensor.dim() else 1
            for start in range(rows):  # one row at a time: the writer sees many chunks
                writer.write(name, start, tensor[start : start + 1] if tensor.dim() else tensor)
    return path


def test_sparse_format_by_hand(tmp_path):
    delta = torch.zeros(4, 5)
    delta[0, 1], delta[2, 0], delta[2, 4] = 1.5, -2.0, -0.0  # a -0.0 is kept: its bits
    dense_enough = torch.arange(1.0, 4.0)  # no zero: sparse would be larger
    path = write_with(
        SparseCheckpointWriter, tmp_path / "d.safetensors", {"a": delta, "b": dense_enough}
    )
    raw = load_checkpoint(path)
    assert set(raw) == {"a::indices", "a::values", "a::row_offsets", "b"}
    assert raw["a::indices"].tolist() == [1, 10, 14] and raw["a::indices"].dtype == torch.int32
    assert raw["a::values"].tolist() == [1.5, -2.0, -0.0]
    assert raw["a::row_offsets"].tolist() == [0, 1, 1, 3, 3]
    assert torch.equal(raw["b"], dense_enough)
    # 3 entries: 3 · (4 + 4) + 5 · 8 = 64 bytes against 80 dense; b: 3 · 8 + 4 · 8 > 12
    assert sparse_nbytes(3, (4, 5), torch.float32) == 64
    ckpt = open_checkpoint(path)
    assert ckpt.metadata["delta_format"] == "sparse" and ckpt.metadata["kind"] == "test"
    assert json.loads(ckpt.metadata["sparse"]) == {"a": [4, 5]}
    assert ckpt.names == ["a", "b"] and ckpt.shape("a") == (4, 5)
    assert torch.equal(bits(ckpt.read("a")), bits(delta))
    chunks = [chunk.clone() for _, chunk in ckpt.iter_rows("a", chunk_bytes=40)]  # 2 rows each
    assert [c.shape[0] for c in chunks] == [2, 2]
    assert torch.equal(bits(torch.cat(chunks)), bits(delta))
    assert torch.equal(ckpt.read_rows("a", 2, 3), delta[2:3])


@pytest.mark.parametrize("shard_bytes", [None, 200])
def test_sparse_and_dense_files_read_the_same(tmp_path, shard_bytes):
    gen = torch.Generator().manual_seed(0)
    tensors = {
        name: torch.where(torch.rand(shape, generator=gen) < 0.1, torch.randn(shape), 0.0)
        for name, shape in LLAMA_SHAPES.items()
    }
    tensors["model.norm.weight"] = torch.randn(6)  # dense enough to stay dense
    tensors["scale"] = torch.tensor(2.0)  # 0-d
    tensors["zero"] = torch.zeros(40, 3)  # nothing stored but the row offsets
    dense = write_with(CheckpointWriter, tmp_path / "dense.safetensors", tensors)
    sparse = write_with(
        SparseCheckpointWriter, tmp_path / "sparse", tensors, max_shard_bytes=shard_bytes
    )
    a, b = open_checkpoint(dense), open_checkpoint(sparse)
    assert a.names == b.names
    for name in a.names:
        assert torch.equal(bits(b.read(name)), bits(a.read(name))), name
    stored = json.loads(b.metadata["sparse"])
    assert "zero" in stored and "model.norm.weight" not in stored and "scale" not in stored
    assert shard_bytes is None or len(list(sparse.glob("model-*.safetensors"))) > 1


def test_a_broken_sparse_file_names_file_and_tensor(tmp_path):
    tensors = {"a::values": torch.ones(2), "a::row_offsets": torch.tensor([0, 2])}
    path = save_checkpoint(
        tmp_path / "bad.safetensors", tensors, metadata={"sparse": json.dumps({"a": [1, 3]})}
    )
    with pytest.raises(
        CheckpointError, match="bad.safetensors: tensor a is stored sparse but has no indices"
    ):
        open_checkpoint(path)


def test_a_failed_sparse_write_leaves_nothing(tmp_path):
    layout = {"a": ((2, 3), torch.float32), "b": ((3,), torch.float32)}
    with pytest.raises(RuntimeError, match="interrupted"):
        with SparseCheckpointWriter(tmp_path / "d.safetensors", layout) as writer:
            writer.write("a", 0, torch.zeros(2, 3))
            raise RuntimeError("interrupted")
    with pytest.raises(CheckpointError, match="closed before tensor b"):
        with SparseCheckpointWriter(tmp_path / "d.safetensors", layout) as writer:
            writer.write("a", 0, torch.zeros(2, 3))
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------- the method


def masked_run(base, seed, density=0.1):
    """A masked CPT result: the backbone with a fraction of entries moved."""
    gen = torch.Generator().manual_seed(seed)
    return {
        name: torch.where(
            torch.rand(t.shape, generator=gen) < density,
            t + torch.randn(t.shape, generator=gen).mul(0.01).to(t.dtype),
            t,
        )
        for name, t in base.items()
    }


@pytest.fixture
def runs(tmp_path):
    base = random_tensors(LLAMA_SHAPES, seed=0, dtype=torch.bfloat16)
    paths = {"base": save_checkpoint(tmp_path / "base.safetensors", base)}
    for i, tag in enumerate(("ability", "general", "es", "bn")):
        paths[tag] = save_checkpoint(tmp_path / f"{tag}.safetensors", masked_run(base, i + 1))
    return paths


def deltas(tmp_path, runs, delta_format):
    out = tmp_path / delta_format
    kwargs = dict(alpha=0.8, beta=0.2, delta_format=delta_format)
    write_ability_weights(runs["base"], runs["ability"], runs["general"], out / "ra", **kwargs)
    for lang in ("es", "bn"):
        write_language_weights(
            runs["base"], runs[lang], runs["general"], out / f"{lang}.safetensors", **kwargs
        )
    write_r_lang(
        {lang: out / f"{lang}.safetensors" for lang in ("es", "bn")},
        {"es": 1.5},
        out / "r_lang.safetensors",
        delta_format=delta_format,
    )
    return out / "ra", out / "r_lang.safetensors"


def test_sparse_deltas_give_the_dense_results(tmp_path, runs):
    """R(A), R_Lang, S(τ) and the merge from sparse deltas equal those from dense ones."""
    dense_ra, dense_rl = deltas(tmp_path, runs, "dense")
    sparse_ra, sparse_rl = deltas(tmp_path, runs, "sparse")
    for dense, sparse in ((dense_ra, sparse_ra), (dense_rl, sparse_rl)):
        a, b = open_checkpoint(dense), open_checkpoint(sparse)
        assert b.metadata["delta_format"] == "sparse" and b.metadata["kind"] == a.metadata["kind"]
        for name in a.names:
            assert torch.equal(bits(b.read(name)), bits(a.read(name))), name
    assert (
        open_checkpoint(sparse_rl).metadata["backbone_fingerprint"]
        == (open_checkpoint(dense_ra).metadata["backbone_fingerprint"])
    )
    # the 2-D tensors are stored sparse (disk sizes at scale: benchmarks/bench_merge.py)
    assert len(json.loads(open_checkpoint(sparse_ra).metadata["sparse"])) == 9
    assert similarity_rows(sparse_ra, sparse_rl, 0.5) == similarity_rows(dense_ra, dense_rl, 0.5)
    selected = ["model.layers.0.mlp.up_proj.weight", "lm_head.weight"]
    for tag, ra, rl in (("dense", dense_ra, dense_rl), ("sparse", sparse_ra, sparse_rl)):
        write_merge(
            runs["base"], ra, rl, selected, tmp_path / f"m_{tag}.safetensors", gamma=0.2, eta=1.0
        )
    merged_dense = load_checkpoint(tmp_path / "m_dense.safetensors")
    merged_sparse = load_checkpoint(tmp_path / "m_sparse.safetensors")
    for name in merged_dense:
        assert torch.equal(bits(merged_sparse[name]), bits(merged_dense[name])), name


def test_ability_pack_merges_on_its_backbone_only(tmp_path, runs):
    ra, rl = deltas(tmp_path, runs, "dense")
    pack = tmp_path / "packs" / "math.safetensors"
    write_ability_pack(
        ra,
        runs["base"],
        pack,
        ability="math",
        k1=0.05,
        corpora={"ability": "math_en.jsonl", "reference": "general_en.jsonl"},
        tokens={"ability": 1000, "reference": 1000},
        mask_densities={"math_en+general_en": 0.1, "general_en": 0.05},
    )
    meta = open_checkpoint(pack).metadata
    assert meta["kind"] == "ability_pack" and meta["ability"] == "math"
    assert json.loads(meta["k1"]) == 0.05 and json.loads(meta["alpha"]) == 0.8
    assert json.loads(meta["mask_densities"])["general_en"] == 0.05
    assert meta["delta_format"] == "sparse"
    assert meta["r_a"] == str(open_checkpoint(ra).path)  # where its lineage goes on
    selected = ["model.layers.0.mlp.up_proj.weight"]
    write_merge(
        runs["base"], ra, rl, selected, tmp_path / "from_ra.safetensors", gamma=0.2, eta=1.0
    )
    write_merge(
        runs["base"], pack, rl, selected, tmp_path / "from_pack.safetensors", gamma=0.2, eta=1.0
    )
    from_ra = load_checkpoint(tmp_path / "from_ra.safetensors")
    from_pack = load_checkpoint(tmp_path / "from_pack.safetensors")
    assert all(torch.equal(bits(from_ra[n]), bits(from_pack[n])) for n in from_ra)
    # another backbone of the same architecture (names and shapes agree, weights do not)
    other = save_checkpoint(
        tmp_path / "other.safetensors", random_tensors(LLAMA_SHAPES, seed=9, dtype=torch.bfloat16)
    )
    with pytest.raises(
        CheckpointError, match="pack merges only with the backbone it was extracted from"
    ):
        write_merge(other, pack, rl, selected, tmp_path / "bad.safetensors", gamma=0.2, eta=1.0)
    assert not (tmp_path / "bad.safetensors").exists()
