"""A tiny translation model in the hub's layout of NLLB-200, randomly initialised: the
architecture (M2M100's encoder-decoder), the tokenizer (SentencePiece-style BPE with the
FLORES-200 language codes as special tokens) and the files of `facebook/nllb-200-*`.
Its translations are nonsense; the path they take is the real one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

from maec.io.atomic import atomic_directory

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]


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


def write_hub_translator(out_dir, texts: Iterable[str], *, seed: int = 0) -> Path:
    """A randomly initialised M2M100 of two layers with an NLLB tokenizer trained on
    `texts`, in the hub's layout (whole or not at all). Returns `out_dir`."""
    tokenizer = nllb_tokenizer(texts)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
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
