"""Cross-check: with T = all tensors, R_Lang = 0 and β = 0, the merge is task arithmetic,
base + γα(Θ_A − Θ_o); checked against plain torch and, where installed, mergekit."""

import torch
from helpers.checkpoints import load_checkpoint
from helpers.mergekit import mergekit_merge, needs_mergekit
from helpers.tiny import llama

from maec.combination.merge import write_merge
from maec.deltas.ability import write_ability_weights
from maec.io.reader import open_checkpoint

GAMMA, ALPHA = 0.2, 0.8


def _tiny_models(tmp_path, dtype):
    base = llama(64, dtype=dtype)
    base.save_pretrained(tmp_path / "base")
    with torch.no_grad():
        for p in base.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    base.save_pretrained(tmp_path / "ability")
    return tmp_path / "base", tmp_path / "ability"


def _maec_task_arithmetic(tmp_path, base, ability):
    # β = 0: the general model does not enter R(A); R_Lang = None; T = every tensor.
    write_ability_weights(base, ability, base, tmp_path / "ra.safetensors", alpha=ALPHA, beta=0.0)
    names = set(open_checkpoint(base).names)
    write_merge(
        base,
        tmp_path / "ra.safetensors",
        None,
        names,
        tmp_path / "merged.safetensors",
        gamma=GAMMA,
        eta=1.0,
        chunk_bytes=256,
    )
    return load_checkpoint(tmp_path / "merged.safetensors")


def test_merge_equals_plain_task_arithmetic(tmp_path):
    base, ability = _tiny_models(tmp_path, torch.float32)
    merged = _maec_task_arithmetic(tmp_path, base, ability)
    theta_o, theta_a = load_checkpoint(base), load_checkpoint(ability)
    assert merged.keys() == theta_o.keys()
    for name, tensor in theta_o.items():
        expected = tensor + GAMMA * ALPHA * (theta_a[name] - tensor)
        torch.testing.assert_close(merged[name], expected, rtol=1e-6, atol=1e-7)


@needs_mergekit
def test_merge_matches_mergekit_task_arithmetic(tmp_path):
    base, ability = _tiny_models(tmp_path, torch.float32)
    merged = _maec_task_arithmetic(tmp_path, base, ability)
    reference = mergekit_merge(
        tmp_path, "task_arithmetic", base, [ability], f"{{weight: {GAMMA * ALPHA!r}}}"
    )
    assert reference.keys() == merged.keys()
    for name, tensor in reference.items():
        torch.testing.assert_close(merged[name], tensor, rtol=1e-6, atol=1e-7)
