"""Key-neuron masks: exact top-k1 with seeded ties, scopes, regexes, union/intersection."""

import json

import numpy as np
import pytest
import torch
from helpers.checkpoints import listing, write_checkpoint
from helpers.tie_keys import reference_key

from maec.io.format import CheckpointError
from maec.io.reader import fingerprint, open_checkpoint
from maec.io.writer import CheckpointWriter
from maec.keyneurons.masks import (
    build_key_neuron_mask,
    kept_count,
    mask_index,
    read_mask,
    read_mask_indices,
    union_masks,
)
from maec.keyneurons.topk import radix_threshold


def mask_kept(path) -> int:
    """Entries kept in a mask file, counted from its bits."""
    return sum(int(bits.sum()) for bits in read_mask(path).values())


def intersect_masks(paths, out_path) -> dict:
    """N = ∩ N_i in the mask file format, a tensor absent from one mask empty in the result
    (a second writer of the format, beside the package's union)."""
    masks = [read_mask(p) for p in paths]
    shapes = {name: list(bits.shape) for mask in masks for name, bits in sorted(mask.items())}
    result = {
        name: torch.stack([m.get(name, torch.zeros(shape, dtype=torch.bool)) for m in masks]).all(
            dim=0
        )
        for name, shape in shapes.items()
    }
    packed = {
        name: torch.from_numpy(np.packbits(bits.numpy().reshape(-1), bitorder="little"))
        for name, bits in result.items()
    }
    metadata = {
        "model": open_checkpoint(paths[0]).metadata["model"],
        "scope": json.dumps("intersection"),
        "shapes": json.dumps(shapes),
    }
    layout = {name: (tuple(p.shape), torch.uint8) for name, p in packed.items()}
    with CheckpointWriter(out_path, layout, metadata) as writer:
        for name, p in packed.items():
            writer.write(name, 0, p)
    return {"kept": sum(int(bits.sum()) for bits in result.values())}


# Importance = tuned − base with base = 0 and lr = 1: the values below are the importances.
IMPORTANCE = {
    "a.weight": torch.tensor([[5.0, 1.0, 3.0], [3.0, 0.0, 2.0]]),
    "b.weight": torch.tensor([3.0, 7.0, 3.0, 0.5]),
    "c.bias": torch.tensor([[3.0], [9.0]]),
}


def _pair(tmp_path, importances=IMPORTANCE, shards=1):
    base = {n: torch.zeros_like(t) for n, t in importances.items()}
    tuned = {
        n: -t if i % 2 else t for i, (n, t) in enumerate(importances.items())
    }  # sign must not matter
    suffix = "" if shards > 1 else ".safetensors"
    return (
        write_checkpoint(tmp_path / f"base{suffix}", base, shards=shards),
        write_checkpoint(tmp_path / f"tuned{suffix}", tuned, shards=shards),
    )


def test_kept_count_rounds_half_up():
    assert kept_count(0.5, 5) == 3
    assert kept_count(0.05, 10) == 1
    assert kept_count(0.04, 10) == 0
    assert kept_count(1, 7) == 7
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match=f"k1={bad}"):
            kept_count(bad, 10)


def kept_ties(candidates, count, seed=0):
    """The `count` tied entries (tensor, flat index) with the largest reference tie keys."""
    return set(sorted(candidates, key=lambda c: reference_key(c[0], seed, c[1]))[-count:])


def kept_entries(mask) -> set:
    return {(name, i) for name, bits in mask.items() for i in bits.reshape(-1).nonzero().flatten()}


@pytest.mark.parametrize("shards", [1, 2])
def test_global_top_k_ties_by_seeded_hash(tmp_path, shards):
    base, tuned = _pair(tmp_path, shards=shards)
    # 12 entries, k1 = 0.5 -> k = 6: 9, 7, 5 are above the threshold 3; three of the five 3s
    # are taken, those with the largest tie keys.
    threes = [("a.weight", 2), ("a.weight", 3), ("b.weight", 0), ("b.weight", 2), ("c.bias", 0)]
    summary = build_key_neuron_mask(
        base, tuned, tmp_path / "m.safetensors", k1=0.5, lr=1.0, chunk_bytes=8
    )
    mask = read_mask(tmp_path / "m.safetensors", expect_model=fingerprint(base))
    above = {("a.weight", 0), ("b.weight", 1), ("c.bias", 1)}
    assert {(n, int(i)) for n, i in kept_entries(mask)} == above | kept_ties(threes, 3)
    assert summary["kept"] == 6 and summary["threshold"] == 3.0
    assert (summary["tied"], summary["tied_kept"], summary["tie_seed"]) == (5, 3, 0)
    on_disk = json.loads((tmp_path / "m.json").read_text())
    assert on_disk["tensors"]["a.weight"]["numel"] == 6
    assert on_disk["density"] == 0.5
    assert sum(t["tied_kept"] for t in on_disk["tensors"].values()) == 3
    again = build_key_neuron_mask(
        base, tuned, tmp_path / "m2.safetensors", k1=0.5, lr=1.0, chunk_bytes=1 << 20
    )
    assert (tmp_path / "m.safetensors").read_bytes() == (tmp_path / "m2.safetensors").read_bytes()
    assert again["kept"] == 6


def test_tensor_scope_ties(tmp_path):
    base, tuned = _pair(tmp_path)
    summary = build_key_neuron_mask(
        base, tuned, tmp_path / "m.safetensors", k1=0.5, lr=2.0, scope="tensor", tie_seed=3
    )
    mask = read_mask(tmp_path / "m.safetensors")
    # Per tensor (values / lr): a.weight keeps 5 and both 3s (no partial tie), b.weight 7 and
    # one of its two 3s (by tie key), c.bias 9.
    b_ties = kept_ties([("b.weight", 0), ("b.weight", 2)], 1, seed=3)
    expected = {("a.weight", 0), ("a.weight", 2), ("a.weight", 3), ("b.weight", 1), ("c.bias", 1)}
    assert {(n, int(i)) for n, i in kept_entries(mask)} == expected | b_ties
    assert summary["tensors"]["a.weight"]["threshold"] == 1.5
    assert summary["tensors"]["b.weight"]["tied"] == 2
    assert mask_kept(tmp_path / "m.safetensors") == 6


def test_include_exclude(tmp_path):
    base, tuned = _pair(tmp_path)
    summary = build_key_neuron_mask(
        base,
        tuned,
        tmp_path / "m.safetensors",
        k1=0.5,
        lr=1.0,
        include=[r"\.weight$"],
        exclude=["^b"],
    )
    mask = read_mask(tmp_path / "m.safetensors")
    assert set(mask) == {"a.weight"}
    assert mask["a.weight"].tolist() == [[True, False, True], [True, False, False]]
    assert summary["eligible"] == 6
    with pytest.raises(ValueError, match="no tensor matches"):
        build_key_neuron_mask(
            base, tuned, tmp_path / "x.safetensors", k1=0.5, lr=1.0, include=["nothing"]
        )


def test_radix_threshold_on_wide_range():
    values = torch.cat(
        [torch.rand(5000) * 10 ** torch.randint(-30, 30, (5000,)).float(), torch.zeros(50)]
    )
    for k in (1, 17, 2500, 5050):
        threshold, above, equal = radix_threshold(
            lambda: iter([("t", values[:3000]), ("t", values[3000:])]), k
        )
        assert threshold == float(values.sort(descending=True).values[k - 1])
        assert above == int((values > threshold).sum()) and equal == int(
            (values == threshold).sum()
        )


def test_union_intersection_and_fingerprint(tmp_path):
    base, tuned = _pair(tmp_path)
    build_key_neuron_mask(base, tuned, tmp_path / "g.safetensors", k1=0.5, lr=1.0)
    build_key_neuron_mask(
        base, tuned, tmp_path / "w.safetensors", k1=0.5, lr=1.0, include=[r"^a"], scope="tensor"
    )
    g, w = read_mask(tmp_path / "g.safetensors"), read_mask(tmp_path / "w.safetensors")
    union = union_masks(
        [tmp_path / "g.safetensors", tmp_path / "w.safetensors"], tmp_path / "u.safetensors"
    )
    inter = intersect_masks(
        [tmp_path / "g.safetensors", tmp_path / "w.safetensors"], tmp_path / "i.safetensors"
    )
    u, i = read_mask(tmp_path / "u.safetensors"), read_mask(tmp_path / "i.safetensors")
    assert torch.equal(u["a.weight"], g["a.weight"] | w["a.weight"])
    assert torch.equal(u["b.weight"], g["b.weight"])
    assert torch.equal(i["a.weight"], g["a.weight"] & w["a.weight"])
    assert not i["b.weight"].any()  # absent from one mask: empty in the intersection
    assert union["kept"] == sum(int(t.sum()) for t in u.values())
    assert inter["kept"] == sum(int(t.sum()) for t in i.values())
    other = {"a.weight": torch.zeros(2, 2)}
    ob, ot = _pair(tmp_path / "other", importances=other)
    build_key_neuron_mask(ob, ot, tmp_path / "o.safetensors", k1=0.5, lr=1.0)
    with pytest.raises(CheckpointError, match="o.safetensors: mask was made for another model"):
        read_mask(tmp_path / "o.safetensors", expect_model=fingerprint(base))
    with pytest.raises(CheckpointError, match="o.safetensors: mask was made for another model"):
        union_masks(
            [tmp_path / "g.safetensors", tmp_path / "o.safetensors"], tmp_path / "bad.safetensors"
        )
    assert not (tmp_path / "bad.safetensors").exists()


@pytest.mark.parametrize("shards", [1, 2])
def test_mask_as_positions(tmp_path, shards):
    """The same key neurons as flat positions per tensor (int32), from a file or booleans."""
    base, tuned = _pair(tmp_path, shards=shards)
    build_key_neuron_mask(base, tuned, tmp_path / "m.safetensors", k1=0.5, lr=1.0, scope="tensor")
    indices = read_mask_indices(tmp_path / "m.safetensors", expect_model=fingerprint(base))
    assert indices["a.weight"].index.tolist() == [0, 2, 3]  # [[T, F, T], [T, F, F]]
    b_weight = indices["b.weight"].index.tolist()  # 7, and one of the two tied 3s
    assert len(b_weight) == 2 and 1 in b_weight and set(b_weight) <= {0, 1, 2}
    assert indices["c.bias"].index.tolist() == [1] and indices["c.bias"].shape == (2, 1)
    assert {key.index.dtype for key in indices.values()} == {torch.int32}
    for name, bits in read_mask(tmp_path / "m.safetensors").items():
        assert torch.equal(mask_index(bits).index, indices[name].index)
        assert mask_index(bits).shape == indices[name].shape
    with pytest.raises(CheckpointError, match="another model"):
        read_mask_indices(tmp_path / "m.safetensors", expect_model="0" * 16)


def test_packed_format_is_numpy_packbits(tmp_path):
    base, tuned = _pair(tmp_path)
    # scope tensor, a.weight: 5 and both 3s, no partial tie
    build_key_neuron_mask(base, tuned, tmp_path / "m.safetensors", k1=0.5, lr=1.0, scope="tensor")
    from safetensors.numpy import load_file

    packed = load_file(str(tmp_path / "m.safetensors"))["a.weight"]
    expected = np.packbits(np.array([1, 0, 1, 1, 0, 0], dtype=bool), bitorder="little")
    assert packed.tolist() == expected.tolist()


def test_bad_input_leaves_nothing(tmp_path):
    base, tuned = _pair(tmp_path)
    before = listing(tmp_path)
    with pytest.raises(ValueError, match="k1=0"):
        build_key_neuron_mask(base, tuned, tmp_path / "m.safetensors", k1=0, lr=1.0)
    with pytest.raises(ValueError, match="k1=1.2"):
        build_key_neuron_mask(base, tuned, tmp_path / "m.safetensors", k1=1.2, lr=1.0)
    nan = dict(IMPORTANCE, **{"b.weight": torch.tensor([1.0, float("nan"), 0.0, 0.0])})
    nb, nt = _pair(tmp_path / "nan", importances=nan)
    with pytest.raises(CheckpointError, match="tensor b.weight: importance is NaN or Inf"):
        build_key_neuron_mask(nb, nt, tmp_path / "m.safetensors", k1=0.5, lr=1.0)
    assert [p for p in listing(tmp_path) if not p.startswith("nan")] == before
    assert not (tmp_path / "m.safetensors").exists() and not (tmp_path / "m.json").exists()
