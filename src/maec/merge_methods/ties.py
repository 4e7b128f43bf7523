"""TIES-Merging (Yadav et al. 2023): trim, elect sign, disjoint merge.

For task vectors v_1..v_n (each already weighted, `maec.combination.terms`):

    trim:      v̂_j = v_j on the top-k entries of |v_j|, 0 elsewhere   (k = ⌊d · n + 0.5⌋)
    elect:     s = sgn(Σ_j v̂_j)
    merge:     τ = Σ_j v̂_j [sgn v̂_j = s] / #{j : v̂_j ≠ 0, sgn v̂_j = s}   (0 where none agrees)
    model:     Θ = Θ_o + λ τ

d (`density`) is the kept fraction, as in mergekit. The top k is ranked over the whole task
vector (`scope: global`, the paper's definition) or inside each tensor (`scope: tensor`,
mergekit's); either way it is the exact radix select of the key-neuron masks
(`maec.keyneurons.topk`) with their seeded tie rule. Where the sum is exactly zero the paper's
sgn is 0 and nothing is merged; mergekit elects + there (a difference only on exact
cancellations). An entry that is zero in every vector stays Θ_o.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch

from maec.combination.terms import Term, check_terms, term_magnitudes, term_vectors_into
from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint
from maec.io.stream import FlatOffsets, ScratchBuffers, write_elementwise
from maec.keyneurons.topk import Cut, TopKSelector, find_cut

log = logging.getLogger(__name__)

TIES_SCOPES = ("global", "tensor")


def check_density(density: float) -> float:
    if not 0 < density <= 1:
        raise ValueError(f"TIES density must be in (0, 1] (the kept fraction), got {density}")
    return float(density)


def ties_into(
    backbone: torch.Tensor,
    vectors: Sequence[torch.Tensor],
    kept: Sequence[torch.Tensor | None],
    scale: float,
    acc: torch.Tensor,
) -> None:
    """Θ_o + λ · disjoint mean of the trimmed vectors, with the elected sign, into `acc`.

    `vectors` are float32 scratch (overwritten); `kept[j]` is v_j's trim mask of the same
    shape (None: every entry kept)."""
    for vector, keep in zip(vectors, kept):
        if keep is not None:
            vector.mul_(keep.reshape(vector.shape))
    elected = torch.zeros_like(acc)
    for vector in vectors:
        elected.add_(vector)
    elected.sign_()
    count = torch.zeros_like(acc)
    acc.zero_()
    for vector in vectors:
        agrees = (vector.sign() == elected) & (vector != 0)
        acc.add_(vector * agrees)
        count.add_(agrees)
    acc.div_(count.clamp_(min=1)).mul_(scale).add_(backbone)


def write_ties_merge(
    backbone,
    terms: Sequence[Term],
    out_path,
    *,
    density: float,
    scale: float,
    scope: str = "global",
    tie_seed: int = 0,
    dtype: str | torch.dtype | None = None,
    max_shard_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> None:
    """Write Θ_o + λ TIES(terms) in `dtype` (None: the backbone's). Tensors where a term has
    weight 0 leave it out of that tensor. The trim's cuts are found first: for `global`, one
    per term over every tensor; for `tensor`, each tensor's when its first chunk arrives."""
    check_density(density)
    if scope not in TIES_SCOPES:
        raise ValueError(f"TIES scope must be one of {TIES_SCOPES}, got {scope!r}")
    base = as_checkpoint(backbone)
    model = check_terms(base, terms)
    names = list(base.names)
    scratch = ScratchBuffers()

    def cut_over(term: Term, tensor_names: list[str]) -> Cut | None:
        if density == 1:
            return None
        k = math.floor(density * sum(base.numel(n) for n in tensor_names) + 0.5)
        if k == 0:
            return Cut(0, math.inf, 0, 0, 0, tie_seed)

        def magnitudes():
            return term_magnitudes(base, term, tensor_names, chunk_bytes, scratch)

        return find_cut(magnitudes, k, tie_seed)

    selectors: list[TopKSelector | None] = []
    if scope == "global":
        for term in terms:
            cut = cut_over(term, names)
            selectors.append(TopKSelector(cut) if cut else None)
    offsets = FlatOffsets()

    def combine(chunks, acc, name):
        start = offsets.start(name, acc.numel())
        if start == 0 and scope == "tensor":
            selectors[:] = [TopKSelector(c) if (c := cut_over(t, [name])) else None for t in terms]
        vectors = chunks[1:]
        term_vectors_into(chunks[0], vectors, terms, name)
        # a selector must see every chunk, in stream order, to keep exactly k
        kept = [
            None if selector is None else selector.select(name, start, vector.abs())[0]
            for vector, selector in zip(vectors, selectors)
        ]
        ties_into(chunks[0], vectors, kept, scale, acc)

    metadata = provenance(
        "ties",
        settings=dict(density=density, scale=scale, scope=scope, tie_seed=tie_seed),
        model=model,
        backbone=base.path,
        inputs=dict(terms={t.label: str(t.source.path) for t in terms}),
    )
    log.info("TIES of %d task vectors, density %s (%s), lambda %s -> %s",
             len(terms), density, scope, scale, out_path)  # fmt: skip
    write_elementwise(
        [base, *(t.source for t in terms)],
        out_path,
        combine,
        out_dtype=dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", *(t.label for t in terms)],
        desc="TIES",
    )
