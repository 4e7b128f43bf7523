"""Task arithmetic (the F-TV / L-TV baselines): Θ_o + λ Σ_i (Θ_i − Θ_o), every tensor."""

from __future__ import annotations

from collections.abc import Sequence

from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint, check_compatible, fingerprint
from maec.io.stream import write_elementwise


def write_task_vector_merge(
    backbone,
    models: Sequence,
    out_path,
    *,
    scale: float,
    max_shard_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> None:
    """Task arithmetic, the F-TV / L-TV baselines: Θ_o + λ Σ_i (Θ_i − Θ_o), every tensor."""
    base = as_checkpoint(backbone)
    tuned = [as_checkpoint(m) for m in models]
    if not tuned:
        raise ValueError("task arithmetic needs at least one fine-tuned model")
    check_compatible(base, *tuned)
    metadata = provenance(
        "task_vectors",
        settings=dict(scale=scale),
        model=fingerprint(base),
        backbone=base.path,
        inputs=dict(models=[str(t.path) for t in tuned]),
    )

    def combine(chunks, acc, name):
        acc.copy_(chunks[0])
        for chunk in chunks[1:]:
            acc.add_(chunk.sub_(chunks[0]), alpha=scale)

    write_elementwise(
        [base, *tuned],
        out_path,
        combine,
        out_dtype=None,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", *(str(t.path) for t in tuned)],
        desc="task vectors",
    )
