"""The task vectors that a merge combines, each with its weight per tensor.

TIES and DARE (`maec.merge_methods.ties`, `maec.merge_methods.dare`) change how task vectors are
combined, not which ones: MAEC's Eq. 5 (γR(A) on T, ημ_i R(Li) on T, μ_i R(Li) elsewhere) and
the F-TV / L-TV baselines (λ(Θ_i − Θ_o) on every tensor) are both a list of `Term`s. A term is
read from a delta (R(A), R(Li)) or from a fine-tuned model (its difference from the backbone).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.provenance import check_backbone
from maec.io.reader import Checkpoint, as_checkpoint, check_compatible, fingerprint
from maec.io.stream import ScratchBuffers, aligned_row_chunks


@dataclass(frozen=True)
class Term:
    """One task vector: `source` is a delta, or a model (`is_model`) whose difference from
    the backbone is the vector; `weights` maps every tensor name to the vector's weight
    there (0: the term does not enter that tensor). `label` names it in errors and seeds
    DARE's draw, so it must be stable across reruns (`R(A)`, `R(es)`, `model 1`)."""

    source: Checkpoint
    label: str
    weights: Mapping[str, float]
    is_model: bool = False


def eq5_terms(
    r_a,
    language_deltas: Mapping[str, object],
    mu: Mapping[str, float],
    selected: Iterable[str],
    names: Sequence[str],
    *,
    gamma: float,
    eta: float,
) -> list[Term]:
    """Eq. 5's terms with R_Lang = Σ μ_i R(Li) taken apart: γR(A) on T (zero elsewhere) and,
    for each language i (in name order), μ_i η R(Li) on T and μ_i R(Li) elsewhere. Their
    plain sum is Eq. 5 (`maec.combination.merge`)."""
    selected = set(selected)
    terms = [
        Term(
            as_checkpoint(r_a),
            "R(A)",
            {name: gamma if name in selected else 0.0 for name in names},
        )
    ]
    for lang in sorted(language_deltas):
        weight = float(mu.get(lang, 1.0))
        terms.append(
            Term(
                as_checkpoint(language_deltas[lang]),
                f"R({lang})",
                {name: weight * (eta if name in selected else 1.0) for name in names},
            )
        )
    return terms


def task_vector_terms(models: Sequence, names: Sequence[str], *, scale: float) -> list[Term]:
    """The F-TV / L-TV terms: λ(Θ_i − Θ_o) on every tensor, for each fine-tuned model."""
    return [
        Term(as_checkpoint(model), f"model {i}", dict.fromkeys(names, float(scale)), is_model=True)
        for i, model in enumerate(models)
    ]


def check_terms(backbone: Checkpoint, terms: Sequence[Term]) -> str:
    """Refuse terms of another architecture or backbone before any work; returns the
    backbone's model fingerprint."""
    if not terms:
        raise ValueError("a merge needs at least one task vector")
    check_compatible(backbone, *(t.source for t in terms), check_dtypes=False)
    model = fingerprint(backbone)
    deltas = [t.source for t in terms if not t.is_model]
    for delta in deltas:
        if delta.metadata.get("model", model) != model:
            raise CheckpointError(
                f"{delta.path}: delta was made for another model (fingerprint "
                f"{delta.metadata['model']}, backbone {backbone.path} has {model})"
            )
    check_backbone(backbone, deltas)
    for term in terms:
        missing = sorted(set(backbone.names) - set(term.weights))
        if missing:
            raise ValueError(f"task vector {term.label}: no weight for tensor {missing[0]}")
        infinite = sorted(n for n, w in term.weights.items() if not math.isfinite(w))
        if infinite:
            raise ValueError(
                f"task vector {term.label}: weight {term.weights[infinite[0]]} at tensor "
                f"{infinite[0]} (its coefficients must be finite numbers)"
            )
    return model


def term_vectors_into(backbone: torch.Tensor, chunks: Sequence[torch.Tensor], terms, name):
    """Turn the terms' float32 scratch chunks into their weighted vectors, in place:
    w (Θ − Θ_o) for a model, w R for a delta."""
    for chunk, term in zip(chunks, terms):
        if term.is_model:
            chunk.sub_(backbone)
        chunk.mul_(term.weights[name])


def term_magnitudes(
    backbone: Checkpoint,
    term: Term,
    names: Iterable[str],
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    scratch: ScratchBuffers | None = None,
) -> Iterator[tuple[str, int, torch.Tensor]]:
    """(tensor name, flat start, |w v| chunk) of one term over `names`: the magnitudes of
    the weighted vector, the one that enters the merge (zero where its weight is 0)."""
    scratch = scratch or ScratchBuffers()
    sources = [backbone if term.is_model else None, term.source]
    for name in names:
        row = max(1, term.source.numel(name) // term.source.row_count(name))
        for start, (base, chunk) in aligned_row_chunks(
            sources, name, chunk_bytes, min_itemsize=4, scratch=scratch
        ):
            out = scratch.take("magnitude", torch.float32, chunk.shape).copy_(chunk)
            if base is not None:
                out.sub_(scratch.take("base", torch.float32, base.shape).copy_(base))
            yield name, start * row, out.abs_().mul_(abs(term.weights[name]))
