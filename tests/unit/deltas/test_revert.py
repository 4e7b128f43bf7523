"""Revert instead of mask: the kept updates by hand, and the kept set equal to the key-neuron
mask of the same two checkpoints (the same threshold and tie rule)."""

import pytest
import torch
from helpers.checkpoints import LLAMA_SHAPES, load_checkpoint, random_tensors, write_checkpoint

from maec.deltas.revert import write_reverted_ability_weights
from maec.keyneurons.masks import build_key_neuron_mask, read_mask


def test_reverted_ability_weights_by_hand(tmp_path):
    # top k = floor(0.5 * 6 + 0.5) = 3 of |Θ − Θ_o| = 0.5, 3, 1, 2 (a) and 0.25, 4 (b):
    # 4, 3, 2 are kept; R(A) = 0.8 * kept update - 0.2 * (Θ_L0 − Θ_o)
    base = write_checkpoint(tmp_path / "base.safetensors", {"a": torch.ones(4), "b": torch.ones(2)})
    trained = write_checkpoint(
        tmp_path / "trained.safetensors",
        {"a": torch.tensor([1.5, -2.0, 2.0, 3.0]), "b": torch.tensor([1.25, 5.0])},
    )
    general = write_checkpoint(
        tmp_path / "general.safetensors", {"a": torch.full((4,), 2.0), "b": torch.ones(2)}
    )
    out = tmp_path / "ra.safetensors"
    summary = write_reverted_ability_weights(
        base, trained, general, out, k1=0.5, alpha=0.8, beta=0.2, chunk_bytes=8
    )
    r_a = load_checkpoint(out)
    assert r_a["a"].tolist() == pytest.approx([-0.2, 0.8 * -3 - 0.2, -0.2, 0.8 * 2 - 0.2])
    assert r_a["b"].tolist() == pytest.approx([0.0, 0.8 * 4])
    assert summary["k"] == 3 and summary["threshold"] == 2.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_kept_set_is_the_mask_of_the_same_threshold(tmp_path, dtype):
    """bf16 updates tie a lot at the threshold: the tie rule must split them as the mask does."""
    base_tensors = random_tensors(LLAMA_SHAPES, 0, dtype=dtype)
    step = random_tensors(LLAMA_SHAPES, 1, scale=0.02)
    trained_tensors = {n: (t.float() + step[n]).to(dtype) for n, t in base_tensors.items()}
    base = write_checkpoint(tmp_path / "base.safetensors", base_tensors)
    trained = write_checkpoint(tmp_path / "trained.safetensors", trained_tensors)
    exclude = ["embed_tokens", "lm_head"]
    build_key_neuron_mask(
        base, trained, tmp_path / "mask.safetensors", k1=0.3, lr=1.0, exclude=exclude, tie_seed=5
    )
    mask = read_mask(tmp_path / "mask.safetensors")
    summary = write_reverted_ability_weights(
        base, trained, base, tmp_path / "ra.safetensors", k1=0.3, alpha=1.0, beta=0.0,
        exclude=exclude, tie_seed=5, chunk_bytes=64,
    )  # fmt: skip
    r_a = load_checkpoint(tmp_path / "ra.safetensors")
    for name, tensor in base_tensors.items():
        update = trained_tensors[name].float() - tensor.float()
        kept = mask.get(name, torch.zeros(tensor.shape, dtype=torch.bool))
        assert torch.equal(r_a[name], update * kept), name
    if dtype == torch.bfloat16:  # the tie rule was needed: some, not all, tied entries kept
        assert 0 < summary["tied_kept"] < summary["tied"]
