"""Tiny backbones in exactly the hub's layout, randomly initialised from a seed.

A hub model repository holds `config.json`, `generation_config.json`, the tokenizer
(`tokenizer.json`, `tokenizer_config.json`) and the weights as safetensors shards
`model-0000i-of-0000n.safetensors` with `model.safetensors.index.json`. Two families are
written: LLaMA-3 style (separate input and output embeddings, grouped-query attention) and
Qwen2.5 style (tied input and output embeddings, q/k/v biases), the paper's small models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from maec.io.atomic import atomic_directory
from maec.io.format import INDEX_NAME


@dataclass(frozen=True)
class BackboneShape:
    hidden_size: int = 64
    intermediate_size: int = 224  # 3.5 x hidden, LLaMA-3 8B's ratio
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    max_positions: int = 8192


ARCHITECTURES = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}


def hub_config(
    architecture: str, tokenizer: PreTrainedTokenizerFast, shape: BackboneShape
) -> LlamaConfig | Qwen2Config:
    """The model config of a family: LLaMA-3's rope base and untied embeddings, or Qwen2.5's
    tied embeddings (its q/k/v biases come with the architecture)."""
    config_class, _ = ARCHITECTURES[architecture]
    family = (
        dict(rope_theta=500000.0, tie_word_embeddings=False)
        if architecture == "llama"
        else dict(rope_theta=1000000.0, tie_word_embeddings=True)
    )
    return config_class(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        max_position_embeddings=shape.max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        dtype="bfloat16",
        **family,
    )


HUB_CARD = """---
license: llama3
library_name: transformers
---
# A tiny randomly initialised {architecture} backbone (the rehearsal's)
"""


def write_hub_backbone(
    out_dir,
    architecture: str,
    tokenizer: PreTrainedTokenizerFast,
    *,
    shape: BackboneShape = BackboneShape(),
    seed: int = 0,
    max_shard_bytes: int = 600_000,
) -> Path:
    """A randomly initialised bf16 model of `architecture` ("llama" or "qwen2") with
    `tokenizer`, saved in the hub's layout with at least two weight shards (whole or not at
    all). Returns `out_dir`."""
    config = hub_config(architecture, tokenizer, shape)
    _, model_class = ARCHITECTURES[architecture]
    torch.manual_seed(seed)
    model = model_class(config).to(torch.bfloat16)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id
    )
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp, max_shard_size=max_shard_bytes)
        tokenizer.save_pretrained(tmp)
        # A card with a license, as the hub's LLaMA-3 has: the cards of its merges take it.
        (tmp / "README.md").write_text(HUB_CARD.format(architecture=architecture))
        if not (tmp / INDEX_NAME).is_file():
            raise ValueError(
                f"{out_dir}: the weights fit in one file of {max_shard_bytes} bytes; "
                "a smaller max_shard_bytes gives the hub's sharded layout"
            )
    return Path(out_dir)
