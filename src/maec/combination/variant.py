"""A merge variant: Eq. 5 with its own k2, γ, η or μ, its own T (k2's, a tensor type's, or T ∩ a
type), another R(A) or R_Lang, or Eq. 5's terms combined by TIES or DARE.

`settings` are `maec.workflow.variants.variant_merge_settings`' and `inputs` its
`variant_inputs` (backbone, r_a, r_lang, and the language deltas for TIES and DARE, in the
order of `settings["mu"]`). The output is a file, or a model's parameters for merge on load
(`maec.evaluation.on_load`): the same code computes both.
"""

from __future__ import annotations

from collections.abc import Mapping

from maec.combination.merge import write_merge
from maec.combination.similarity import similarity_rows
from maec.combination.terms import eq5_terms
from maec.io.reader import open_checkpoint
from maec.merge_methods import merge_method


def variant_similarity(inputs: Mapping, settings: Mapping) -> list[dict]:
    """The variant's S(τ) table (`similarity_rows`), with its T marked."""
    return similarity_rows(
        inputs["r_a"],
        inputs["r_lang"],
        settings["k2"],
        types=settings["types"],
        within=settings["within"],
    )


def write_variant_merge(inputs: Mapping, settings: Mapping, selected: set[str], out) -> None:
    """The variant's weights on the tensors of T (`selected`) into `out`: Eq. 5 (`write_merge`),
    or its terms (γR(A) on T, μ_i η R(Li) on T, μ_i R(Li) elsewhere) combined by the merge
    method that `settings["combine"]` names."""
    if "combine" not in settings:
        write_merge(
            inputs["backbone"],
            inputs["r_a"],
            inputs["r_lang"],
            selected,
            out,
            gamma=settings["gamma"],
            eta=settings["eta"],
            dtype=settings["dtype"],
            r_lang_mu=settings["mu"],
        )
        return
    combine = dict(settings["combine"])
    method = merge_method(combine.pop("combine"))
    languages = dict(zip(settings["mu"], inputs["languages"], strict=True))
    terms = eq5_terms(
        inputs["r_a"],
        languages,
        settings["mu"],
        selected,
        open_checkpoint(inputs["backbone"]).names,
        gamma=settings["gamma"],
        eta=settings["eta"],
    )
    method.write(inputs["backbone"], terms, out, dtype=settings["dtype"], **combine)
