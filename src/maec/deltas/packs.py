"""Ability packs: R(A) as a file that travels without the runs that made it.

A pack is the ability's weights R(A) stored sparse (`maec.io.sparse`) with what it was made
of in its metadata: ``kind: ability_pack``, the ability, the backbone (``model``: names and
shapes; ``backbone_fingerprint``: names, shapes, dtypes and sampled bytes, so another
backbone of the same architecture differs), k1, α, β, the corpora, the training tokens and
the masks' densities. Every delta records the backbone it was made from, and the merge and
the similarity refuse deltas of different backbones, so a pack merges with any R_Lang built
on its backbone and with no other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.provenance import BACKBONE_KEY, check_backbone, provenance
from maec.io.reader import Checkpoint, as_checkpoint, check_compatible
from maec.io.stream import write_elementwise

log = logging.getLogger(__name__)


def pack_metadata(
    r_a: Checkpoint,
    *,
    ability: str,
    k1: float,
    corpora: Mapping[str, str],
    tokens: Mapping[str, int],
    mask_densities: Mapping[str, float],
) -> dict[str, str]:
    """The metadata of an ability pack (JSON strings), from R(A)'s own and the run's."""
    for key in ("model", BACKBONE_KEY, "alpha", "beta"):
        if key not in r_a.metadata:
            raise CheckpointError(f"{r_a.path}: not an ability delta (no {key!r} in its metadata)")
    settings = dict(
        ability=ability,
        alpha=r_a.metadata["alpha"],
        beta=r_a.metadata["beta"],
        k1=k1,
        corpora=dict(corpora),
        tokens=dict(tokens),
        mask_densities=dict(mask_densities),
    )
    return provenance(
        "ability_pack",
        settings=settings,
        model=r_a.metadata["model"],
        backbone_fingerprint=r_a.metadata[BACKBONE_KEY],
        inputs=dict(r_a=r_a.path),  # what `python -m maec inspect` follows back to the runs
    )


def write_ability_pack(
    r_a,
    backbone,
    out_path,
    *,
    ability: str,
    k1: float,
    corpora: Mapping[str, str],
    tokens: Mapping[str, int],
    mask_densities: Mapping[str, float],
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> None:
    """Write R(A) (dense or sparse) as an ability pack: sparse, in R(A)'s dtype, with the
    pack metadata. R(A) must come from ``backbone``."""
    delta, base = as_checkpoint(r_a), as_checkpoint(backbone)
    check_compatible(base, delta, check_dtypes=False)
    check_backbone(base, [delta])
    metadata = pack_metadata(
        delta,
        ability=ability,
        k1=k1,
        corpora=corpora,
        tokens=tokens,
        mask_densities=mask_densities,
    )
    log.info("ability pack %s: R(A) %s -> %s", ability, delta.path, out_path)

    def combine(chunks, acc, name):
        acc.copy_(chunks[0])

    write_elementwise(
        [delta],
        out_path,
        combine,
        out_dtype=None,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        input_labels=["R(A)"],
        desc="pack",
        sparse=True,
    )
