"""Eq. 5: τ̃ = τ_o + γ R(A)[τ] + η R_Lang[τ] for τ in T, else τ_o + R_Lang[τ].

Computed in float32 and written in the backbone's dtype (or another: `merge.dtype`); the
merge pass also tallies how much of γR(A) survives that rounding (`maec.combination.rounding`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping

import torch

from maec.combination.rounding import RoundingTally, rounding_tally, write_rounding_report
from maec.deltas.language import check_r_lang
from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError, torch_dtype
from maec.io.provenance import check_backbone, provenance
from maec.io.reader import as_checkpoint, check_compatible, fingerprint
from maec.io.stream import ScratchBuffers, write_elementwise

log = logging.getLogger(__name__)


def merge_tensor(
    backbone: torch.Tensor,
    r_a: torch.Tensor,
    r_lang: torch.Tensor | None,
    selected: bool,
    gamma: float,
    eta: float,
) -> torch.Tensor:
    """Eq. 5 for one tensor, computed in float32 and returned in the backbone's dtype."""
    acc = torch.empty(backbone.shape, dtype=torch.float32)
    merge_into(backbone, r_a, r_lang, selected, gamma, eta, acc)
    return acc.to(backbone.dtype)


def merge_into(
    backbone, r_a, r_lang, selected: bool, gamma: float, eta: float, acc: torch.Tensor
) -> None:
    acc.copy_(backbone)
    if selected:
        acc.add_(r_a, alpha=gamma)
        if r_lang is not None:
            acc.add_(r_lang, alpha=eta)
    elif r_lang is not None:
        acc.add_(r_lang)


def check_coefficients(**coefficients: float) -> None:
    """Refuse a coefficient that is not a finite number, naming it: a NaN would otherwise
    surface only as NaN weights in the result, and be blamed on the inputs."""
    for name, value in coefficients.items():
        if not math.isfinite(value):
            raise ValueError(f"merge coefficient {name} is {value}: it must be a finite number")


def check_merge_inputs(base, abilities, r_lang, selections, r_lang_mu) -> str:
    """Refuse, before any work, deltas of another architecture, model or backbone, an R_Lang
    made for other languages or μ (`r_lang_mu`, when given), and a selected tensor that is
    not in the backbone; returns the backbone's model fingerprint."""
    if r_lang is not None and r_lang_mu is not None:
        check_r_lang(r_lang, r_lang_mu)
    deltas = [*abilities] + ([r_lang] if r_lang is not None else [])
    check_compatible(base, *deltas, check_dtypes=False)
    for selected in selections:
        unknown = sorted(set(selected) - set(base.names))
        if unknown:
            raise CheckpointError(
                f"{base.path}: selected tensor {unknown[0]} is not in the backbone"
            )
    model = fingerprint(base)
    for delta in deltas:
        if delta.metadata.get("model", model) != model:
            raise CheckpointError(
                f"{delta.path}: delta was made for another model (fingerprint "
                f"{delta.metadata['model']}, backbone {base.path} has {model})"
            )
    check_backbone(base, deltas)
    return model


def _chunk_merger(base, selected: set[str], gamma: float, eta: float, out_dtype, tallies):
    """`write_elementwise`'s combine step: Eq. 5 on one chunk (`merge_into`), and for the
    tensors in `tallies`, how much of γR(A) survives the rounding to the written dtype."""
    scratch = ScratchBuffers()

    def combine(chunks, acc, name):
        merge_into(chunks[0], chunks[1], chunks[2], name in selected, gamma, eta, acc)
        if name in tallies:
            without_ra = scratch.take("without_ra", torch.float32, acc.shape).copy_(chunks[0])
            if chunks[2] is not None:
                without_ra.add_(chunks[2], alpha=eta)
            gamma_ra = chunks[1].mul_(gamma)  # a float32 scratch copy of R(A)'s chunk
            written = out_dtype or base.dtype(name)
            tallies[name] += rounding_tally(acc, without_ra, gamma_ra, written, scratch)

    return combine


def write_merge(
    backbone,
    r_a,
    r_lang,
    selected: Iterable[str],
    out_path,
    *,
    gamma: float,
    eta: float,
    dtype: str | torch.dtype | None = None,
    r_lang_mu: Mapping[str, float] | None = None,
    rounding_report=None,
    max_shard_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict | None:
    """Write the merged model's weights (Eq. 5) in `dtype` (None: the backbone's dtypes).

    `r_lang=None` treats R_Lang as zero. `r_lang_mu` (language -> μ_i): the languages and μ
    that R_Lang must have been made with (`maec.deltas.language.check_r_lang`). `out_path` is one
    safetensors file, or a sharded directory when `max_shard_bytes` is given; wrap it with
    `write_hf_directory`. With `rounding_report` (a JSON path), the merge also tallies, for
    the tensors of T, how much of γR(A) survives the rounding to the output dtype, writes the
    report there after the weights and returns it.
    """
    check_coefficients(gamma=gamma, eta=eta)
    base = as_checkpoint(backbone)
    ability = as_checkpoint(r_a)
    language = as_checkpoint(r_lang) if r_lang is not None else None
    selected = set(selected)
    model = check_merge_inputs(base, [ability], language, [selected], r_lang_mu)
    out_dtype = None if dtype is None else torch_dtype(dtype)
    metadata = provenance(
        "merge",
        settings=dict(gamma=gamma, eta=eta),
        model=model,
        backbone=base.path,
        inputs=dict(r_a=ability.path, r_lang=language.path if language else ""),
        results=dict(selected=len(selected)),
    )
    log.info(
        "merge: %d of %d tensors in T, gamma=%s eta=%s, written in %s -> %s",
        len(selected),
        len(base.names),
        gamma,
        eta,
        out_dtype or "the backbone's dtype",
        out_path,
    )
    tallies = {name: RoundingTally() for name in selected} if rounding_report else {}
    write_elementwise(
        [base, ability, language],
        out_path,
        _chunk_merger(base, selected, gamma, eta, out_dtype, tallies),
        out_dtype=out_dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", "R(A)", "R_Lang"],
        desc="merge",
    )
    if not rounding_report:
        return None
    written = out_dtype or base.dtype(base.names[0])
    return _report_rounding(rounding_report, tallies, written, gamma)


def _report_rounding(path, tallies, dtype, gamma: float) -> dict:
    """Write the merge's rounding report and log what it says."""
    report = write_rounding_report(path, tallies, dtype=dtype, gamma=gamma)
    log.info(
        "rounding to %s: %d of %d entries with R(A) != 0 in T rounded away, %.4f of "
        "||gamma R(A)||_1 survives",
        report["dtype"],
        report["rounded_away"],
        report["entries"],
        report["surviving_share"],
    )
    return report
