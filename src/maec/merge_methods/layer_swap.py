"""Layer Swapping (Bandarkar et al., ICLR 2025): the ability expert's middle layers between
the language expert's bottom and top layers, with optional linear transition zones.

Both experts are trained from the same backbone (here F-CPT_A and F-CPT_L). For a decoder of
L layers, b bottom and t top layers swapped and transition zones of z layers, the language
expert's share of layer ℓ is

    w(ℓ) = 1                   ℓ < b  or  ℓ ≥ L − t        (swapped)
    w(ℓ) = 1 − (j + 1)/(z + 1)  ℓ = b + j  or  ℓ = L − t − 1 − j,  j < z   (transition)
    w(ℓ) = 0                   otherwise                   (the ability expert's)

and every tensor of the layer is w Θ_lang + (1 − w) Θ_ability. The paper swaps transformer
layers only and leaves the rest open; here the tensors outside the layers go with the block
next to them: the input embeddings with the bottom block (the language expert's when b > 0),
the final norm and lm_head with the top block (when t > 0); a tied embedding is the input
embedding. Any other tensor outside the layers is the ability expert's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.provenance import provenance
from maec.io.reader import as_checkpoint, check_compatible, fingerprint
from maec.io.stream import write_elementwise
from maec.tensors import tensor_layer, tensor_type

log = logging.getLogger(__name__)


def layer_count(names: Sequence[str]) -> int:
    layers = [layer for layer in map(tensor_layer, names) if layer is not None]
    if not layers:
        raise ValueError("layer swapping needs a decoder: no tensor name has .layers.N.")
    return max(layers) + 1


def layer_weights(layers: int, bottom: int, top: int, transition: int) -> list[float]:
    """The language expert's share w(ℓ) of each of `layers` decoder layers."""
    if min(bottom, top, transition) < 0:
        raise ValueError(f"layer swap counts must be >= 0, got bottom={bottom} top={top} "
                         f"transition={transition}")  # fmt: skip
    zones = (transition if bottom else 0) + (transition if top else 0)
    if bottom + top + zones > layers:
        raise ValueError(
            f"layer swap: bottom={bottom} + top={top} layers and their transition zones of "
            f"{transition} do not fit in the model's {layers} layers"
        )
    weights = [0.0] * layers
    for layer in range(bottom):
        weights[layer] = 1.0
    for layer in range(layers - top, layers):
        weights[layer] = 1.0
    for j in range(transition):
        share = 1 - (j + 1) / (transition + 1)
        if bottom:
            weights[bottom + j] = share
        if top:
            weights[layers - top - 1 - j] = share
    return weights


def swap_weights(names: Sequence[str], bottom: int, top: int, transition: int) -> dict[str, float]:
    """Each tensor's language-expert share: its layer's w(ℓ); outside the layers, the
    bottom block's for the embeddings, the top block's for the final norm and lm_head."""
    per_layer = layer_weights(layer_count(names), bottom, top, transition)
    out = {}
    for name in names:
        layer = tensor_layer(name)
        if layer is not None:
            out[name] = per_layer[layer]
        elif tensor_type(name) == "embeddings":
            out[name] = 1.0 if bottom else 0.0
        elif tensor_type(name) in ("norm", "lm_head"):
            out[name] = 1.0 if top else 0.0
        else:
            out[name] = 0.0
    return out


def swap_into(ability: torch.Tensor, language: torch.Tensor, share: float, acc: torch.Tensor):
    """(1 − w) Θ_ability + w Θ_lang into `acc`; w = 0 or 1 copies one expert exactly."""
    if share in (0, 1):
        acc.copy_(language if share else ability)
    else:
        acc.copy_(ability).mul_(1 - share).add_(language, alpha=share)


def write_layer_swap(
    ability_model,
    language_model,
    out_path,
    *,
    bottom: int,
    top: int,
    transition: int = 0,
    max_shard_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, float]:
    """Write the swapped model in the ability expert's dtypes; returns each tensor's
    language-expert share (also in the metadata, as the layers' shares)."""
    ability, language = as_checkpoint(ability_model), as_checkpoint(language_model)
    check_compatible(ability, language, check_dtypes=False)
    shares = swap_weights(ability.names, bottom, top, transition)
    per_layer = layer_weights(layer_count(ability.names), bottom, top, transition)
    metadata = provenance(
        "layer_swap",
        settings=dict(bottom=bottom, top=top, transition=transition, layer_shares=per_layer),
        model=fingerprint(ability),
        inputs=dict(ability_model=ability.path, language_model=language.path),
    )
    log.info("layer swap: language expert's share per layer %s -> %s", per_layer, out_path)

    def combine(chunks, acc, name):
        swap_into(chunks[0], chunks[1], shares[name], acc)

    write_elementwise(
        [ability, language],
        out_path,
        combine,
        out_dtype=None,
        metadata=metadata,
        chunk_bytes=chunk_bytes,
        max_shard_bytes=max_shard_bytes,
        input_labels=["ability expert", "language expert"],
        desc="layer swap",
    )
    return shares
