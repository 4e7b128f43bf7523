"""Layer Swapping: which expert each tensor comes from, and the transition zones' blend."""

import pytest
import torch
from helpers.checkpoints import load_checkpoint, random_tensors, write_checkpoint

from maec.merge_methods.layer_swap import layer_weights, swap_weights, write_layer_swap


def test_layer_shares_by_hand():
    # 8 layers: bottom 2 and top 1 swapped, zones of 2 layers blend 2/3 then 1/3
    third = 1 / 3
    assert layer_weights(8, 2, 1, 2) == pytest.approx(
        [1, 1, 2 * third, third, 0, third, 2 * third, 1]
    )
    assert layer_weights(4, 1, 0, 1) == [1.0, 0.5, 0.0, 0.0]  # no top block, no top zone
    assert layer_weights(4, 0, 0, 3) == [0.0] * 4
    with pytest.raises(ValueError, match="do not fit in the model's 4 layers"):
        layer_weights(4, 2, 1, 1)


def _names(layers):
    per_layer = ["self_attn.q_proj.weight", "input_layernorm.weight", "mlp.down_proj.weight"]
    inner = [f"model.layers.{i}.{p}" for i in range(layers) for p in per_layer]
    return ["model.embed_tokens.weight", *inner, "model.norm.weight", "lm_head.weight"]


def test_tensor_names_map_to_their_expert():
    shares = swap_weights(_names(4), bottom=1, top=1, transition=1)
    assert shares["model.embed_tokens.weight"] == 1.0  # with the bottom block
    assert shares["model.norm.weight"] == 1.0 and shares["lm_head.weight"] == 1.0  # top block
    for layer, share in enumerate([1.0, 0.5, 0.5, 1.0]):
        for part in ("self_attn.q_proj.weight", "input_layernorm.weight", "mlp.down_proj.weight"):
            assert shares[f"model.layers.{layer}.{part}"] == share
    shares = swap_weights(_names(4), bottom=2, top=0, transition=0)
    assert shares["model.embed_tokens.weight"] == 1.0
    assert shares["model.norm.weight"] == 0.0 and shares["lm_head.weight"] == 0.0
    assert [shares[f"model.layers.{i}.mlp.down_proj.weight"] for i in range(4)] == [1, 1, 0, 0]


def test_written_model_takes_each_tensor_from_its_expert(tmp_path):
    shapes = {name: (3, 2) for name in _names(4)}
    ability, language = random_tensors(shapes, 0), random_tensors(shapes, 1)
    out = tmp_path / "swap.safetensors"
    shares = write_layer_swap(
        write_checkpoint(tmp_path / "a.safetensors", ability),
        write_checkpoint(tmp_path / "l.safetensors", language),
        out,
        bottom=1,
        top=1,
        transition=1,
        chunk_bytes=8,
    )
    merged = load_checkpoint(out)
    for name, share in shares.items():
        if share in (0.0, 1.0):  # a swapped or kept tensor is its expert's, bit for bit
            assert torch.equal(merged[name], language[name] if share else ability[name]), name
        else:
            expected = (1 - share) * ability[name] + share * language[name]
            torch.testing.assert_close(merged[name], expected, rtol=0, atol=1e-6)
    assert sum(share == 0.5 for share in shares.values()) == 6  # layers 1 and 2
