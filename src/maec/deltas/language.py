"""Language weights R(Li) and their combination R_Lang = Σ μ_i R(Li) (Eq. 3).

Each language is treated as an ability: by default R(Li) follows Eq. 2 with the
language's masked CPT in place of the ability's (language weights mode `eq2`, the config's
`language_weights.mode`); mode `plain` takes R(Li) = Θ_Li − Θ_o.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping

from maec.deltas.ability import check_runs, eq2_weights_into
from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.provenance import provenance, recorded_backbone
from maec.io.reader import (
    Checkpoint,
    as_checkpoint,
    check_compatible,
    content_fingerprint,
    fingerprint,
)
from maec.io.sparse import is_sparse
from maec.io.stream import write_elementwise

log = logging.getLogger(__name__)

LANGUAGE_WEIGHT_MODES = ("eq2", "plain")  # language_weights.mode
DEFAULT_MU = 1.0


def write_language_weights(
    backbone,
    language_model,
    general_model,
    out_path,
    *,
    alpha: float,
    beta: float,
    mode: str = "eq2",
    dtype: str = "float32",
    delta_format: str = "dense",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_shard_bytes: int | None = None,
) -> None:
    """Write R(Li): α(Θ_{Li,L0} − Θ_o) − β(Θ_{L0} − Θ_o) (eq2) or Θ_Li − Θ_o (plain; α, β and
    `general_model` are not used and `general_model` may be None); ``delta_format="sparse"``
    stores its non-zero entries (`maec.io.sparse`)."""
    if mode not in LANGUAGE_WEIGHT_MODES:
        raise ValueError(
            f"language weights mode must be one of {LANGUAGE_WEIGHT_MODES}, got mode={mode!r}"
        )
    if mode == "eq2" and general_model is None:
        raise ValueError(
            "mode='eq2' needs general_model (the masked CPT on the reference language)"
        )
    base, language = as_checkpoint(backbone), as_checkpoint(language_model)
    general = as_checkpoint(general_model) if mode == "eq2" else None
    check_runs(base, language, *([general] if general else []))
    settings, inputs = dict(mode=mode), dict(language_model=language.path)
    if mode == "eq2":
        settings.update(alpha=alpha, beta=beta)
        inputs.update(general_model=general.path)
    metadata = provenance(
        "language",
        settings=settings,
        model=fingerprint(base),
        backbone=base.path,
        backbone_fingerprint=content_fingerprint(base),
        inputs=inputs,
    )
    if mode == "eq2":

        def combine(chunks, acc, name):
            eq2_weights_into(chunks[0], chunks[1], chunks[2], alpha, beta, acc)
    else:

        def combine(chunks, acc, name):
            acc.copy_(chunks[1])
            acc.sub_(chunks[0])

    log.info("language weights (%s) from %s -> %s", mode, language.path, out_path)
    write_elementwise(
        [base, language, general],
        out_path,
        combine,
        out_dtype=dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["backbone", "language model", "general model"],
        desc="R(Li)",
        sparse=is_sparse(delta_format),
    )


def write_r_lang(
    language_deltas: Mapping[str, str | os.PathLike],
    mu: Mapping[str, float],
    out_path,
    *,
    dtype: str = "float32",
    delta_format: str = "dense",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_shard_bytes: int | None = None,
) -> None:
    """Write R_Lang = Σ_i μ_i R(Li) (Eq. 3); a language without a μ gets 1.0.

    Languages are summed in name order so that the float result is reproducible;
    ``delta_format="sparse"`` stores the non-zero entries (`maec.io.sparse`).
    """
    if not language_deltas:
        raise ValueError("R_Lang needs at least one language delta")
    languages = sorted(language_deltas)
    deltas = [as_checkpoint(language_deltas[lang]) for lang in languages]
    check_compatible(*deltas)
    weights = [float(mu.get(lang, DEFAULT_MU)) for lang in languages]
    unused = sorted(set(mu) - set(languages))
    if unused:
        log.info("μ given for languages without a delta (ignored): %s", ", ".join(unused))
    metadata = provenance(
        "r_lang",
        settings=dict(mu=dict(zip(languages, weights))),
        model=deltas[0].metadata.get("model", fingerprint(deltas[0])),
        backbone_fingerprint=recorded_backbone(deltas),
        inputs=dict(languages={lang: str(d.path) for lang, d in zip(languages, deltas)}),
    )

    def combine(chunks, acc, name):
        acc.zero_()
        for chunk, weight in zip(chunks, weights):
            acc.add_(chunk, alpha=weight)

    log.info(
        "R_Lang = %s -> %s",
        " + ".join(f"{w}*R({lang})" for lang, w in zip(languages, weights)),
        out_path,
    )
    write_elementwise(
        deltas,
        out_path,
        combine,
        out_dtype=dtype,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=[f"R({lang})" for lang in languages],
        desc="R_Lang",
        sparse=is_sparse(delta_format),
    )


def check_r_lang(r_lang: Checkpoint, mu: Mapping[str, float]) -> None:
    """Refuse an R_Lang made for other languages or another μ than `mu` (language -> μ_i,
    every language of the config): its metadata records both. An R_Lang left from an
    earlier configuration would otherwise be merged without a word."""
    if r_lang.metadata.get("kind") != "r_lang" or "mu" not in r_lang.metadata:
        raise CheckpointError(
            f"{r_lang.path}: not an R_Lang (its metadata records no kind r_lang and μ)"
        )
    made = json.loads(r_lang.metadata["mu"])
    wanted = {lang: float(m) for lang, m in sorted(mu.items())}
    if made != wanted:
        raise CheckpointError(
            f"{r_lang.path}: R_Lang was made for the languages {', '.join(made)} with μ {made}, "
            f"but the configuration asks for {', '.join(wanted)} with μ {wanted}; rebuild it "
            "(Snakemake reruns r_lang when its languages or μ change, unless told to rerun on "
            "modification times only)"
        )
