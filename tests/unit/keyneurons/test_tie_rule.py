"""The tie rule: keys against a pure-Python reference, exact counts, seeds, no tensor favoured."""

import math

import pytest
import torch
from helpers.checkpoints import write_checkpoint
from helpers.tie_keys import M32, reference_fmix32, reference_key

from maec.keyneurons import topk
from maec.keyneurons.masks import build_key_neuron_mask, kept_count, read_mask
from maec.keyneurons.tie_rule import fmix32, tie_keys
from maec.keyneurons.topk import TopKSelector, find_cut


def test_keys_match_the_reference_and_are_distinct_within_a_tensor():
    words = torch.tensor([0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xDEADBEEF, M32])
    assert fmix32(words).tolist() == [reference_fmix32(w) for w in words.tolist()]
    assert reference_fmix32(0) == 0  # the finaliser maps 0 to 0
    index = torch.tensor([0, 1, 5, 1 << 32, (1 << 32) + 5, (7 << 33) + 3])
    for name, seed in [("lm_head.weight", 0), ("model.layers.10.mlp.up_proj.weight", 7)]:
        got = tie_keys(name, seed, index).tolist()
        assert got == [reference_key(name, seed, i) for i in index.tolist()]
    keys = tie_keys("t", 0, torch.arange(1 << 16))
    assert keys.unique().numel() == 1 << 16 and keys.min() >= 0 and keys.max() <= M32


ALL_TIE_SHAPES = {  # name order would hand every tied slot to lm_head, then the embeddings
    "lm_head.weight": (40, 50),
    "model.embed_tokens.weight": (40, 50),
    "model.layers.0.mlp.up_proj.weight": (100, 60),
    "model.layers.1.mlp.up_proj.weight": (30, 30),
    "model.layers.10.mlp.up_proj.weight": (250, 40),
    "model.norm.weight": (700,),
}


@pytest.fixture(scope="module")
def all_tie(tmp_path_factory):
    """Every entry moved by exactly 1: every importance ties."""
    tmp = tmp_path_factory.mktemp("all_tie")
    base = {n: torch.zeros(s) for n, s in ALL_TIE_SHAPES.items()}
    tuned = {n: torch.ones(s) for n, s in ALL_TIE_SHAPES.items()}
    return write_checkpoint(tmp / "base.safetensors", base), write_checkpoint(
        tmp / "tuned.safetensors", tuned
    )


def _mask(all_tie, path, **kwargs):
    summary = build_key_neuron_mask(*all_tie, path, lr=1.0, chunk_bytes=4096, **kwargs)
    return summary, read_mask(path)


# The 99.9 % quantile of the chi-square distribution with 5 degrees of freedom. Under the
# tie rule the kept counts are a uniform sample without replacement (less spread than the
# multinomial this bound is for); name order gives a statistic in the tens of thousands.
CHI2_5_DOF_999 = 20.515


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_tie_global_is_exact_reproducible_and_unbiased(all_tie, tmp_path, seed):
    summary, mask = _mask(all_tie, tmp_path / "m.safetensors", k1=0.1, tie_seed=seed)
    total = sum(math.prod(s) for s in ALL_TIE_SHAPES.values())
    k = kept_count(0.1, total)
    kept = {name: int(bits.sum()) for name, bits in mask.items()}
    assert sum(kept.values()) == k == summary["kept"] == summary["tied_kept"]
    assert summary["tied"] == total and summary["tie_seed"] == seed
    expected = {name: k * bits.numel() / total for name, bits in mask.items()}
    chi2 = sum((kept[n] - expected[n]) ** 2 / expected[n] for n in kept)
    assert chi2 < CHI2_5_DOF_999, (chi2, kept, expected)
    for name, bits in mask.items():  # spread inside each tensor: both halves alike
        flat = bits.reshape(-1)
        first, second = int(flat[: flat.numel() // 2].sum()), int(flat[flat.numel() // 2 :].sum())
        assert abs(first - second) <= 4 * math.sqrt(kept[name]) + 1, (name, first, second)
    again, mask_again = _mask(all_tie, tmp_path / "again.safetensors", k1=0.1, tie_seed=seed)
    assert all(torch.equal(mask[n], mask_again[n]) for n in mask)
    _, other = _mask(all_tie, tmp_path / "other.safetensors", k1=0.1, tie_seed=seed + 10)
    overlap = sum(int((mask[n] & other[n]).sum()) for n in mask)
    assert overlap < 0.2 * k  # another seed draws another sample (about k1 * k shared)


def test_name_order_would_fail_the_spread_check():
    """The check above has the power to see name order: lm_head would take every slot."""
    total = sum(math.prod(s) for s in ALL_TIE_SHAPES.values())
    k = kept_count(0.1, total)
    sizes = {n: math.prod(s) for n, s in sorted(ALL_TIE_SHAPES.items())}
    by_name, left = {}, k
    for name, size in sizes.items():
        by_name[name] = min(size, left)
        left -= by_name[name]
    chi2 = sum((by_name[n] - k * sizes[n] / total) ** 2 / (k * sizes[n] / total) for n in sizes)
    assert chi2 > 100 * CHI2_5_DOF_999


def test_all_tie_tensor_scope_is_exact_and_spread(all_tie, tmp_path):
    summary, mask = _mask(all_tie, tmp_path / "t.safetensors", k1=0.1, scope="tensor", tie_seed=5)
    for name, bits in mask.items():
        flat = bits.reshape(-1)
        assert int(flat.sum()) == kept_count(0.1, flat.numel()) == summary["tensors"][name]["kept"]
        assert summary["tensors"][name]["tied"] == flat.numel()
        half = flat.numel() // 2
        assert abs(int(flat[:half].sum()) - int(flat[half:].sum())) <= 4 * math.sqrt(flat.sum()) + 1
    _, again = _mask(all_tie, tmp_path / "t2.safetensors", k1=0.1, scope="tensor", tie_seed=5)
    assert all(torch.equal(mask[n], again[n]) for n in mask)


def test_equal_keys_fall_back_to_stream_order(monkeypatch):
    """Keys of different tensors can coincide: the count stays exact, in stream order."""
    monkeypatch.setattr(topk, "tie_keys", lambda name, seed, index: torch.zeros_like(index))
    values = {"a": torch.tensor([2.0, 1.0, 1.0, 1.0]), "b": torch.tensor([1.0, 1.0, 3.0])}

    def chunks():  # two chunks of "a", one of "b"
        yield "a", 0, values["a"][:2]
        yield "a", 2, values["a"][2:]
        yield "b", 0, values["b"]

    cut = find_cut(chunks, 5, tie_seed=0)
    assert (cut.threshold, cut.above, cut.tied, cut.tied_kept) == (1.0, 2, 5, 3)
    assert (cut.key_threshold, cut.key_ties) == (0, 3)
    selector = TopKSelector(cut)
    kept = [selector.select(name, start, chunk)[0].tolist() for name, start, chunk in chunks()]
    assert kept == [[True, True], [True, True], [False, False, True]]
