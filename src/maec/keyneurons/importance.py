"""Eq. 1: the importance of an entry is how far the importance CPT moved it, per unit of lr.

Θ̃ is read in full precision: the importance CPT saves its float32 master weights inside
its model directory (`maec.training.masters.float32_masters`). A bf16 checkpoint
would round every update smaller than half a bf16 ulp of its weight to zero and the rest to
whole ulps, so that |Θ̃ − Θ| / lr took few distinct values and many entries tied at the
top-k1 threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.reader import as_checkpoint, check_compatible
from maec.io.stream import ScratchBuffers, aligned_row_chunks


def check_learning_rate(lr: float) -> float:
    if not (lr > 0):
        raise ValueError(f"lr must be > 0 to compute importance, got lr={lr}")
    return float(lr)


def importance(base: torch.Tensor, tuned: torch.Tensor, lr: float) -> torch.Tensor:
    """I = abs(Θ̃ − Θ) / lr, in float32 (Eq. 1)."""
    lr = check_learning_rate(lr)
    out = tuned.to(torch.float32, copy=True)
    out.sub_(base).abs_()
    return out.div_(lr)


def importance_into(
    base: torch.Tensor,
    tuned: torch.Tensor,
    lr: float,
    out: torch.Tensor,
    base_float: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 1 written into a preallocated float32 buffer of the same shape (streaming passes).

    `base_float`, a float32 buffer of the same shape, avoids torch's slow mixed-dtype
    subtraction when the checkpoints are not float32.
    """
    if base.dtype != torch.float32 and base_float is not None:
        base = base_float.copy_(base)
    out.copy_(tuned)
    out.sub_(base).abs_()
    return out.div_(lr)


def iter_importance(
    backbone_ckpt,
    tuned_ckpt,
    lr: float,
    names: Iterable[str] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    scratch: ScratchBuffers | None = None,
) -> Iterator[tuple[str, int, torch.Tensor]]:
    """Yield (tensor name, start_row, importance chunk) over `names` (default: all), streamed.

    The chunk is a reused float32 buffer: it is valid until the next item is requested.
    """
    lr = check_learning_rate(lr)
    backbone = as_checkpoint(backbone_ckpt)
    tuned = as_checkpoint(tuned_ckpt)
    check_compatible(backbone, tuned, check_dtypes=False)
    scratch = scratch or ScratchBuffers()
    for name in backbone.names if names is None else names:
        for start, (base, moved) in aligned_row_chunks(
            [backbone, tuned], name, chunk_bytes, min_itemsize=4, scratch=scratch
        ):
            out = scratch.take("importance", torch.float32, base.shape)
            base_float = scratch.take("base_float", torch.float32, base.shape)
            yield name, start, importance_into(base, moved, lr, out, base_float)
