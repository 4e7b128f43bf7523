"""Several abilities in one model: Eq. 5 with γR(A)[τ] replaced by a sum over abilities,

    τ̃ = τ_o + Σ_a γ_a R(a)[τ]·[τ ∈ T_a] + η R_Lang[τ]   for τ ∈ ∪_a T_a,
    τ̃ = τ_o + R_Lang[τ]                                  otherwise,

each ability with its own T_a (its similarity against the same R_Lang, Eq. 4) and γ_a. With
one ability this is Eq. 5 bit for bit; where the T_a do not overlap and η = 1 it is the
sequential merge of one ability after the other (the second with R_Lang = 0).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from maec.combination.merge import check_coefficients, check_merge_inputs
from maec.io.format import DEFAULT_CHUNK_BYTES, torch_dtype
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint
from maec.io.stream import write_elementwise

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AbilityPart:
    """One ability of a joint merge: its R(A) (a delta or an ability pack), T and γ."""

    r_a: object
    selected: frozenset[str]
    gamma: float


def multi_ability_into(
    backbone: torch.Tensor,
    r_as: Sequence[torch.Tensor],
    selected: Sequence[bool],
    gammas: Sequence[float],
    r_lang: torch.Tensor | None,
    eta: float,
    acc: torch.Tensor,
) -> None:
    """The joint merge of one tensor into the float32 buffer `acc`."""
    acc.copy_(backbone)
    for r_a, chosen, gamma in zip(r_as, selected, gammas):
        if chosen:
            acc.add_(r_a, alpha=gamma)
    if r_lang is not None:
        acc.add_(r_lang, alpha=eta if any(selected) else 1.0)


def write_multi_ability_merge(
    backbone,
    abilities: Mapping[str, AbilityPart],
    r_lang,
    out_path,
    *,
    eta: float,
    dtype: str | torch.dtype | None = None,
    r_lang_mu: Mapping[str, float] | None = None,
    max_shard_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> None:
    """Write the joint merge of `abilities` (name -> part) in `dtype` (None: the backbone's);
    the inputs are checked as `maec.combination.merge.write_merge` checks them."""
    if not abilities:
        raise ValueError("a joint merge needs at least one ability")
    names = sorted(abilities)
    parts = [abilities[a] for a in names]
    check_coefficients(eta=eta, **{f"gamma of {a}": abilities[a].gamma for a in names})
    base = as_checkpoint(backbone)
    deltas = [as_checkpoint(p.r_a) for p in parts]
    language = as_checkpoint(r_lang) if r_lang is not None else None
    model = check_merge_inputs(base, deltas, language, [p.selected for p in parts], r_lang_mu)
    gammas = [p.gamma for p in parts]
    metadata = provenance(
        "multi_ability_merge",
        settings=dict(abilities=names, gamma=dict(zip(names, gammas)), eta=eta),
        model=model,
        backbone=base.path,
        inputs=dict(
            r_a={a: str(d.path) for a, d in zip(names, deltas)},
            r_lang=language.path if language else "",
        ),
        results=dict(selected={a: len(p.selected) for a, p in zip(names, parts)}),
    )
    shared = sum(n > 1 for n in Counter(t for p in parts for t in p.selected).values())
    log.info(
        "joint merge of %s: T sizes %s, %d tensors in more than one T, eta=%s -> %s",
        "+".join(names),
        [len(p.selected) for p in parts],
        shared,
        eta,
        out_path,
    )

    def combine(chunks, acc, name):
        chosen = [name in p.selected for p in parts]
        multi_ability_into(chunks[0], chunks[1:-1], chosen, gammas, chunks[-1], eta, acc)

    write_elementwise(
        [base, *deltas, language],
        out_path,
        combine,
        out_dtype=None if dtype is None else torch_dtype(dtype),
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", *(f"R({a})" for a in names), "R_Lang"],
        desc="joint merge",
    )
