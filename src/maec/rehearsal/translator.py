"""A tiny translation model in the hub's layout of NLLB-200, randomly initialised: the
architecture (M2M100's encoder-decoder), the tokenizer (SentencePiece-style BPE with the
FLORES-200 language codes as special tokens) and the files of `facebook/nllb-200-*`.
Its translations are nonsense; the path they take is the real one. The same writer makes a
model of NLLB-200 600M's shape for the translation benchmark (benchmarks/bench_translation.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

from maec.io.atomic import atomic_directory

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]

# M2M100Config fields: the rehearsal's model, and the shape of facebook/nllb-200-distilled-600M
# (615 M parameters with its vocabulary of 256,206) for the translation benchmark
SHAPES = {
    "tiny": dict(d_model=32, layers=1, heads=2, ffn_dim=64),
    "nllb-600m": dict(d_model=1024, layers=12, heads=16, ffn_dim=4096),
}
NLLB_VOCAB = 256_206


def nllb_tokenizer(texts: Iterable[str], vocab_size: int = 1000):
    """An NLLB tokenizer whose BPE is trained on `texts` (every FLORES-200 code added)."""
    from transformers import NllbTokenizer

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    bpe.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL)
    )
    merges = [
        tuple(m) if isinstance(m, list) else tuple(m.split(" "))
        for m in json.loads(bpe.to_str())["model"]["merges"]
    ]
    return NllbTokenizer(vocab=bpe.get_vocab(), merges=merges)


def write_hub_translator(
    out_dir,
    texts: Iterable[str],
    *,
    seed: int = 0,
    shape: str = "tiny",
    vocab_size: int | None = None,
) -> Path:
    """A randomly initialised M2M100 of `shape` (`SHAPES`) with an NLLB tokenizer trained
    on `texts`, in the hub's layout (whole or not at all). `vocab_size` pads the tokenizer
    with placeholder tokens to that size, so that the model's output layer is as wide as
    the real one's (`NLLB_VOCAB`). Returns `out_dir`."""
    tokenizer = nllb_tokenizer(texts)
    if vocab_size is not None and vocab_size > len(tokenizer):
        tokenizer.add_tokens([f"▁x{i}" for i in range(vocab_size - len(tokenizer))])
    dims = SHAPES[shape]
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=dims["d_model"],
        encoder_layers=dims["layers"],
        decoder_layers=dims["layers"],
        encoder_attention_heads=dims["heads"],
        decoder_attention_heads=dims["heads"],
        encoder_ffn_dim=dims["ffn_dim"],
        decoder_ffn_dim=dims["ffn_dim"],
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(out_dir)
