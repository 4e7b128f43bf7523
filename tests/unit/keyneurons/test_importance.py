"""Eq. 1: I = abs(Θ̃ − Θ) / lr."""

import pytest
import torch
from helpers.checkpoints import write_checkpoint

from maec.keyneurons.importance import importance, iter_importance


def test_importance_by_hand():
    base = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    tuned = torch.tensor([[1.5, -2.25], [0.5, -1.0]])
    expected = torch.tensor([[0.5, 0.25], [0.0, 1.0]]) / 0.01
    assert torch.allclose(importance(base, tuned, 0.01), expected)
    assert importance(base.bfloat16(), tuned.bfloat16(), 0.5).dtype == torch.float32


def test_importance_rejects_bad_lr():
    with pytest.raises(ValueError, match="lr=0"):
        importance(torch.zeros(1), torch.zeros(1), 0)


def test_iter_importance_streams_rows(tmp_path):
    base = {"w": torch.arange(12.0).reshape(6, 2), "b": torch.ones(3)}
    tuned = {"w": torch.arange(12.0).reshape(6, 2) * 2, "b": torch.zeros(3)}
    a = write_checkpoint(tmp_path / "a.safetensors", base)
    b = write_checkpoint(tmp_path / "b.safetensors", tuned)
    pieces = {}
    for name, start, chunk in iter_importance(a, b, 2.0, chunk_bytes=16):
        pieces.setdefault(name, []).append((start, chunk.clone()))
    assert [s for s, _ in pieces["w"]] == [0, 2, 4]
    assert torch.equal(torch.cat([c for _, c in pieces["w"]]), torch.arange(12.0).reshape(6, 2) / 2)
    assert torch.equal(torch.cat([c for _, c in pieces["b"]]), torch.full((3,), 0.5))
