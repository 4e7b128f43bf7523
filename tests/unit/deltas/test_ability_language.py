"""Eq. 2 (ability weights), language weights and Eq. 3 (R_Lang), with bad input."""

import json

import pytest
import torch
from helpers.checkpoints import listing, load_checkpoint, write_checkpoint

from maec.deltas.ability import ability_weights, write_ability_weights
from maec.deltas.language import write_language_weights, write_r_lang
from maec.io.format import CheckpointError
from maec.io.reader import open_checkpoint

BASE = {"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "n": torch.tensor([0.5, -0.5])}
ABILITY = {"w": torch.tensor([[2.0, 2.0], [3.0, 6.0]]), "n": torch.tensor([0.5, 0.5])}
GENERAL = {"w": torch.tensor([[1.0, 3.0], [3.0, 4.0]]), "n": torch.tensor([1.5, -0.5])}


def _models(tmp_path, dtype=torch.float32):
    return [
        write_checkpoint(
            tmp_path / f"{tag}.safetensors", {k: v.to(dtype) for k, v in tensors.items()}
        )
        for tag, tensors in (("base", BASE), ("ability", ABILITY), ("general", GENERAL))
    ]


def test_ability_weights_tensor_by_hand():
    general = GENERAL["w"].clone()
    out = ability_weights(BASE["w"], ABILITY["w"], general, alpha=0.8, beta=0.2)
    assert torch.allclose(out, torch.tensor([[0.8, -0.2], [0.0, 1.6]]))
    assert torch.equal(general, GENERAL["w"])  # inputs are not modified


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_ability_weights_by_hand(tmp_path, dtype):
    base, ability, general = _models(tmp_path, dtype)
    write_ability_weights(base, ability, general, tmp_path / "ra.safetensors", alpha=0.8, beta=0.2)
    out = load_checkpoint(tmp_path / "ra.safetensors")
    # 0.8 * (A − o) − 0.2 * (L0 − o)
    assert torch.allclose(out["w"], torch.tensor([[0.8, -0.2], [0.0, 1.6]]))
    assert torch.allclose(out["n"], torch.tensor([-0.2, 0.8]))
    assert out["w"].dtype == torch.float32
    meta = open_checkpoint(tmp_path / "ra.safetensors").metadata
    assert meta["kind"] == "ability" and json.loads(meta["alpha"]) == 0.8


def test_language_weights_eq2_and_plain(tmp_path):
    base, language, general = _models(tmp_path)
    write_language_weights(
        base, language, general, tmp_path / "eq2.safetensors", alpha=0.5, beta=0.25
    )
    eq2 = load_checkpoint(tmp_path / "eq2.safetensors")
    assert torch.allclose(eq2["w"], torch.tensor([[0.5, -0.25], [0.0, 1.0]]))
    write_language_weights(
        base,
        language,
        None,
        tmp_path / "plain.safetensors",
        alpha=0.5,
        beta=0.25,
        mode="plain",
        dtype="bfloat16",
    )
    plain = load_checkpoint(tmp_path / "plain.safetensors")
    assert plain["w"].dtype == torch.bfloat16
    assert torch.equal(plain["w"].float(), torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="mode='eq2' needs general_model"):
        write_language_weights(base, language, None, tmp_path / "x.safetensors", alpha=1, beta=0)
    with pytest.raises(ValueError, match="mode='bogus'"):
        write_language_weights(
            base, language, general, tmp_path / "x.safetensors", alpha=1, beta=0, mode="bogus"
        )


def test_r_lang_by_hand(tmp_path):
    deltas = {
        "es": write_checkpoint(tmp_path / "es.safetensors", {"w": torch.tensor([1.0, 2.0])}),
        "bn": write_checkpoint(tmp_path / "bn.safetensors", {"w": torch.tensor([-1.0, 0.5])}),
        "zh": write_checkpoint(tmp_path / "zh.safetensors", {"w": torch.tensor([4.0, 0.0])}),
    }
    write_r_lang(deltas, {"es": 1.5, "bn": 1.2, "te": 9.0}, tmp_path / "r.safetensors")  # zh: μ = 1
    out = load_checkpoint(tmp_path / "r.safetensors")["w"]
    assert torch.allclose(out, torch.tensor([1.5 - 1.2 + 4.0, 3.0 + 0.6]))
    assert json.loads(open_checkpoint(tmp_path / "r.safetensors").metadata["mu"]) == {
        "bn": 1.2,
        "es": 1.5,
        "zh": 1.0,
    }


def test_nan_in_delta_names_file_and_tensor_and_leaves_nothing(tmp_path):
    good = write_checkpoint(
        tmp_path / "in" / "es.safetensors", {"a": torch.ones(3, 2), "w": torch.ones(2)}
    )
    bad = write_checkpoint(
        tmp_path / "in" / "bn.safetensors",
        {"a": torch.ones(3, 2), "w": torch.tensor([1.0, float("inf")])},
    )
    with pytest.raises(CheckpointError, match=r"bn.safetensors: tensor w \(R\(bn\)\): NaN or Inf"):
        write_r_lang({"es": good, "bn": bad}, {}, tmp_path / "out" / "r.safetensors")
    assert listing(tmp_path / "out") == []


def test_incompatible_models_fail_before_writing(tmp_path):
    base, ability, _ = _models(tmp_path)
    other = write_checkpoint(
        tmp_path / "other.safetensors", {"w": torch.zeros(2, 3), "n": torch.zeros(2)}
    )
    with pytest.raises(CheckpointError, match="other.safetensors differ at tensor w: shape"):
        write_ability_weights(
            base, ability, other, tmp_path / "out" / "ra.safetensors", alpha=0.8, beta=0.2
        )
    assert not (tmp_path / "out").exists() or listing(tmp_path / "out") == []
    half = write_checkpoint(
        tmp_path / "half.safetensors", {k: v.half() for k, v in GENERAL.items()}
    )
    with pytest.raises(CheckpointError, match="differ at tensor n: dtype"):
        write_ability_weights(
            base, ability, half, tmp_path / "out" / "ra.safetensors", alpha=0.8, beta=0.2
        )
