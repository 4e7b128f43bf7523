"""A tiny training world: LLaMA backbones in bf16 and fp32, two packed corpora, and the
settings and checks the training tests share."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from helpers import REPO
from helpers.tiny import VOCAB, llama, save_word_tokenizer
from maec.data.tokens import pack_corpus

torch.set_num_threads(1)


BLOCK = 16


def make_backbone(directory, dtype=torch.bfloat16):
    model = llama(96, dtype=dtype, max_position_embeddings=64)
    with torch.no_grad():  # negative zeros must keep their sign bit too
        model.model.layers[0].self_attn.q_proj.weight[0, :16] = -0.0
        model.lm_head.weight[:, 0] = -0.0
    model.save_pretrained(directory)
    save_word_tokenizer(directory)
    return directory


def make_corpus(tmp_path, name, sentences, repeat):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"text": s}) + "\n" for s in sentences * repeat))
    pack_corpus(path, tmp_path / "bf16", tmp_path / "tokens" / name, block_size=BLOCK)
    return str(tmp_path / "tokens" / name)


ARGS = dict(lr=1e-2, total_tokens=6 * 64, batch_tokens=64, micro_batch_size=2, seed=1, device="cpu")


def weights(directory):
    return load_file(Path(directory) / "model.safetensors")


def bits(t):
    """Bit pattern of a floating tensor, to compare exactly (NaN and -0.0 included)."""
    return t.view({2: torch.int16, 4: torch.int32}[t.element_size()])


CONFIGS = REPO / "config" / "deepspeed"  # DeepSpeed configs


def partial_mask(backbone):
    g = torch.Generator().manual_seed(1)
    mask = {
        name: torch.rand(backbone[name].shape, generator=g) < 0.3
        for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight")
    }
    mask["lm_head.weight"] = torch.ones(backbone["lm_head.weight"].shape, dtype=torch.bool)
    mask["model.layers.0.mlp.gate_proj.weight"] = torch.zeros(
        backbone["model.layers.0.mlp.gate_proj.weight"].shape, dtype=torch.bool
    )
    return mask


def mask_with_embedding_rows(backbone):
    """`partial_mask` (a partly masked, a fully masked and an empty tensor) plus the
    embedding rows of the tokens that occur (so entries inside the mask do move)."""
    mask = partial_mask(backbone)
    mask["model.embed_tokens.weight"] = torch.zeros(96, 32, dtype=torch.bool)
    mask["model.embed_tokens.weight"][: len(VOCAB), ::3] = True
    return mask
