"""DARE (Yu et al. 2024): drop each entry of a task vector with rate p, rescale the rest.

    v̂_j = v_j ⊙ m_j / (1 − p),   m_j[i] = 0 with probability p,
    Θ = Θ_o + Σ_j v̂_j            (the weights λ, γ, μ_i η are in v_j: `maec.combination.terms`)

E[v̂_j] = v_j. The draw is a function of (seed, term label, tensor name, flat index): the seeded
hash of the tie rule (`maec.keyneurons.tie_rule.tie_keys`, uniform over [0, 2^32) and distinct
within a tensor), with entry i dropped when its key is below round(p · 2^32). So a rerun draws
the same entries, whatever the chunking, the tensor order or the other terms, and
each term and tensor draws its own. mergekit's `dare_linear` draws with torch.bernoulli and
rescales each tensor to keep its L1 norm (in expectation the same 1/(1 − p)).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from maec.combination.terms import Term, check_terms, term_vectors_into
from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint
from maec.io.stream import FlatOffsets, write_elementwise
from maec.keyneurons.tie_rule import KEY_BITS, tie_keys

log = logging.getLogger(__name__)


def check_drop_rate(p: float) -> float:
    if not 0 <= p < 1:
        raise ValueError(f"DARE drop rate p must be in [0, 1), got p={p}")
    return float(p)


def drop_threshold(p: float) -> int:
    """Keys below this are dropped: round(p · 2^32)."""
    return round(check_drop_rate(p) * (1 << KEY_BITS))


def dare_kept(label: str, name: str, seed: int, start: int, count: int, p: float) -> torch.Tensor:
    """Which of the entries start..start+count of tensor `name` of term `label` survive."""
    index = torch.arange(start, start + count, dtype=torch.int64)
    return tie_keys(f"{label}/{name}", seed, index) >= drop_threshold(p)


def dare_into(
    backbone: torch.Tensor,
    vectors: Sequence[torch.Tensor],
    kept: Sequence[torch.Tensor],
    p: float,
    acc: torch.Tensor,
) -> None:
    """Θ_o + Σ_j v_j ⊙ m_j / (1 − p) into `acc`; `vectors` are float32 scratch."""
    acc.copy_(backbone)
    for vector, keep in zip(vectors, kept):
        acc.add_(vector.mul_(keep.reshape(vector.shape)), alpha=1 / (1 - p))


def write_dare_merge(
    backbone,
    terms: Sequence[Term],
    out_path,
    *,
    drop_rate: float,
    seed: int = 0,
    dtype: str | torch.dtype | None = None,
    max_shard_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> None:
    """Write Θ_o + Σ_j DARE(v_j) in `dtype` (None: the backbone's), one pass."""
    p = check_drop_rate(drop_rate)
    base = as_checkpoint(backbone)
    model = check_terms(base, terms)
    offsets = FlatOffsets()

    def combine(chunks, acc, name):
        start = offsets.start(name, acc.numel())
        vectors = chunks[1:]
        term_vectors_into(chunks[0], vectors, terms, name)
        kept = [dare_kept(t.label, name, seed, start, acc.numel(), p) for t in terms]
        dare_into(chunks[0], vectors, kept, p, acc)

    metadata = provenance(
        "dare",
        settings=dict(drop_rate=p, seed=seed),
        model=model,
        backbone=base.path,
        inputs=dict(terms={t.label: str(t.source.path) for t in terms}),
    )
    log.info("DARE of %d task vectors, p=%s seed=%s -> %s", len(terms), p, seed, out_path)
    write_elementwise(
        [base, *(t.source for t in terms)],
        out_path,
        combine,
        out_dtype=dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", *(t.label for t in terms)],
        desc="DARE",
    )
