"""Eq. 2: ability weights R(A) = α(Θ_{A,L0} − Θ_o) − β(Θ_{L0} − Θ_o), streamed tensor by tensor.

Eq. 2 serves every "ability", languages included (`maec.deltas.language` computes R(Li) with
`eq2_weights_into`, the language's masked CPT in place of the ability's).
"""

from __future__ import annotations

import logging

import torch

from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint, check_compatible, content_fingerprint, fingerprint
from maec.io.sparse import is_sparse
from maec.io.stream import write_elementwise

log = logging.getLogger(__name__)


def ability_weights(
    backbone: torch.Tensor,
    ability_model: torch.Tensor,
    general_model: torch.Tensor,
    alpha: float,
    beta: float,
) -> torch.Tensor:
    """R(A) for one tensor, in float32 (Eq. 2)."""
    out = torch.empty(backbone.shape, dtype=torch.float32)
    scratch = general_model.to(torch.float32, copy=True)
    eq2_weights_into(backbone, ability_model, scratch, alpha, beta, out)
    return out


def eq2_weights_into(
    backbone, trained_model, general_model, alpha: float, beta: float, out: torch.Tensor
) -> None:
    """Eq. 2, α(Θ_trained − Θ_o) − β(Θ_{L0} − Θ_o), into a float32 buffer, for an ability's
    masked CPT (R(A)) or a language's (R(Li)). `general_model` must be a float32 scratch
    copy (it is overwritten). Differences are formed first: they are exact in float32 for
    bf16 inputs, so small updates are not lost against large weights."""
    out.copy_(trained_model)
    out.sub_(backbone).mul_(alpha)
    if beta != 0:
        general_model.sub_(backbone)
        out.sub_(general_model, alpha=beta)


def check_runs(base, *runs) -> None:
    """The runs are of the backbone's architecture, each tensor in the backbone's dtype or in
    float32 (a run's float32 masters, `deltas.precision: float32`); a model in another
    dtype is refused, naming it and the tensor."""
    check_compatible(base, *runs, check_dtypes=False)
    for run in runs:
        for name in base.names:
            if run.dtype(name) not in (base.dtype(name), torch.float32):
                raise CheckpointError(
                    f"{base.path} and {run.path} differ at tensor {name}: dtype "
                    f"{base.dtype(name)} vs {run.dtype(name)} (a run is in the backbone's "
                    "dtypes, or float32: its masters)"
                )


def write_ability_weights(
    backbone,
    ability_model,
    general_model,
    out_path,
    *,
    alpha: float,
    beta: float,
    dtype: str = "float32",
    delta_format: str = "dense",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_shard_bytes: int | None = None,
) -> None:
    """Write R(A) (Eq. 2) as a delta checkpoint with the backbone's names and shapes;
    ``delta_format="sparse"`` stores its non-zero entries (`maec.io.sparse`)."""
    base, ability, general = (as_checkpoint(p) for p in (backbone, ability_model, general_model))
    check_runs(base, ability, general)
    metadata = provenance(
        "ability",
        settings=dict(alpha=alpha, beta=beta),
        model=fingerprint(base),
        backbone=base.path,
        backbone_fingerprint=content_fingerprint(base),
        inputs=dict(ability_model=ability.path, general_model=general.path),
    )
    log.info(
        "ability weights R(A) = %s(%s - Θ_o) - %s(%s - Θ_o) -> %s",
        alpha,
        ability.path,
        beta,
        general.path,
        out_path,
    )

    def combine(chunks, acc, name):
        eq2_weights_into(chunks[0], chunks[1], chunks[2], alpha, beta, acc)

    write_elementwise(
        [base, ability, general],
        out_path,
        combine,
        out_dtype=dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", "ability model", "general model"],
        desc="R(A)",
        sparse=is_sparse(delta_format),
    )
