"""Revert instead of mask: the ability's run trained on every entry, then all but its
largest updates reverted to the backbone, in place of the masked run Θ_{A,L0} in Eq. 2.

    Θ^rev_j = Θ_j  if |Θ_j − Θ_{o,j}| is among the top k of the eligible entries,
              Θ_{o,j} otherwise,
    R(A) = α(Θ^rev − Θ_o) − β(Θ_{L0} − Θ_o)

k = ⌊k1 · n + 0.5⌋ over the eligible entries (`key_neurons.include` / `exclude`), ranked
globally by the radix select and seeded tie rule of the key-neuron masks
(`maec.keyneurons.topk`): the kept set is exactly the mask that
`maec.keyneurons.masks.build_key_neuron_mask` builds from the same two checkpoints with lr = 1.
Ineligible tensors revert whole, as a masked run leaves them.
Bandarkar & Peng (2025) report that reverting the smaller updates after training often
beats freezing them from the start, which is what the masked runs do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from maec.deltas.ability import eq2_weights_into
from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint, check_compatible, content_fingerprint, fingerprint
from maec.io.sparse import is_sparse
from maec.io.stream import FlatOffsets, ScratchBuffers, write_elementwise
from maec.keyneurons.importance import iter_importance
from maec.keyneurons.masks import check_keeps_entries, eligible_names, kept_count
from maec.keyneurons.topk import Cut, TopKSelector, find_cut

log = logging.getLogger(__name__)


def revert_cut(
    backbone,
    trained,
    *,
    k1: float,
    include: Sequence[str] = (".*",),
    exclude: Sequence[str] = (),
    tie_seed: int = 0,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> tuple[Cut, list[str]]:
    """The cut of the top k of |Θ − Θ_o| over the eligible tensors, and those tensors."""
    base, moved = as_checkpoint(backbone), as_checkpoint(trained)
    check_compatible(base, moved, check_dtypes=False)
    names = eligible_names(base.names, include, exclude)
    if not names:
        raise ValueError(
            f"{base.path}: no tensor matches include={list(include)} exclude={list(exclude)}"
        )
    check_keeps_entries(k1, "global", [base.numel(n) for n in names], moved.path)
    k = kept_count(k1, sum(base.numel(n) for n in names))
    scratch = ScratchBuffers()

    def stream():
        for name, start_row, chunk in iter_importance(
            base, moved, 1.0, names, chunk_bytes, scratch
        ):
            yield name, start_row * (base.numel(name) // base.row_count(name)), chunk

    return find_cut(stream, k, tie_seed), names


def reverted_into(backbone: torch.Tensor, trained: torch.Tensor, keep: torch.Tensor) -> None:
    """Θ^rev: `trained` keeps its entries where `keep`, the backbone's elsewhere (in place)."""
    torch.where(keep.reshape(trained.shape), trained, backbone, out=trained)


def write_reverted_ability_weights(
    backbone,
    trained,
    general_model,
    out_path,
    *,
    k1: float,
    alpha: float,
    beta: float,
    include: Sequence[str] = (".*",),
    exclude: Sequence[str] = (),
    tie_seed: int = 0,
    dtype: str = "float32",
    delta_format: str = "dense",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_shard_bytes: int | None = None,
) -> dict:
    """Write R(A) (Eq. 2) with Θ_{A,L0} = the reverted `trained` run; returns the cut's
    summary (k, threshold, ties), which the delta's metadata records too."""
    base, moved, general = (as_checkpoint(p) for p in (backbone, trained, general_model))
    check_compatible(base, moved, general, check_dtypes=False)
    cut, names = revert_cut(
        base, moved, k1=k1, include=include, exclude=exclude, tie_seed=tie_seed,
        chunk_bytes=chunk_bytes,
    )  # fmt: skip
    summary = {"k1": k1, "k": cut.k, "threshold": cut.threshold, "tied": cut.tied,
               "tied_kept": cut.tied_kept, "tie_seed": tie_seed, "eligible": names}  # fmt: skip
    eligible = set(names)
    selector = TopKSelector(cut)
    offsets = FlatOffsets()
    scratch = ScratchBuffers()

    def combine(chunks, acc, name):
        start = offsets.start(name, acc.numel())
        if name in eligible:
            magnitude = scratch.take("magnitude", torch.float32, acc.shape)
            keep = selector.select(name, start, magnitude.copy_(chunks[1]).sub_(chunks[0]).abs_())[
                0
            ]
        else:
            keep = torch.zeros(acc.numel(), dtype=torch.bool)
        reverted_into(chunks[0], chunks[1], keep)
        eq2_weights_into(chunks[0], chunks[1], chunks[2], alpha, beta, acc)

    metadata = provenance(
        "ability",
        settings=dict(alpha=alpha, beta=beta),
        model=fingerprint(base),
        backbone=base.path,
        backbone_fingerprint=content_fingerprint(base),
        inputs=dict(ability_model=moved.path, general_model=general.path),
        results=dict(reverted={key: v for key, v in summary.items() if key != "eligible"}),
    )
    log.info("R(A) from %s with all but the top %d of |Θ − Θ_o| reverted (threshold %r) -> %s",
             moved.path, cut.k, cut.threshold, out_path)  # fmt: skip
    write_elementwise(
        [base, moved, general],
        out_path,
        combine,
        out_dtype=dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", "trained model", "general model"],
        desc="R(A) reverted",
        sparse=is_sparse(delta_format),
    )
    return summary
