"""Tiny models and tokenizers for the tests: one factory for every test that needs one.

- `config` / `llama`: a LLaMA-architecture (or Qwen2) model of two layers, hidden size 32,
  seeded, in any dtype; keyword arguments override any config field.
- `word_tokenizer`: a word-level tokenizer over `WORDS` (packing and training tests),
  ids known by heart (`VOCAB`).
- `bpe_tokenizer` / `save_tiny_model`: a byte-level BPE tokenizer for multilingual text and
  a model directory with it (evaluation tests).
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config

SHAPE = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    tie_word_embeddings=False,
)
ARCHITECTURES = {"llama": LlamaConfig, "qwen2": Qwen2Config}


def config(vocab_size: int, architecture: str = "llama", **overrides):
    """The tiny config (`SHAPE`) with `vocab_size`; `overrides` replace any field."""
    return ARCHITECTURES[architecture](**{**SHAPE, "vocab_size": vocab_size, **overrides})


def llama(vocab_size: int, *, seed: int = 0, dtype=torch.float32, **overrides):
    """A randomly initialised tiny LLaMA (torch seeded with `seed` just before)."""
    torch.manual_seed(seed)
    return LlamaForCausalLM(config(vocab_size, **overrides)).to(dtype)


# --------------------------------------------------------------------------- word level

WORDS = "the cat sat on a mat dog ran far away".split()
VOCAB = {"<unk>": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
EOS = VOCAB["<eos>"]


def word_tokenizer(eos: bool = True) -> PreTrainedTokenizerFast:
    """Whitespace-split words of `VOCAB` (unknown words: <unk>), with or without an EOS."""
    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    special = {"eos_token": "<eos>"} if eos else {}
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", **special)


def save_word_tokenizer(directory, eos: bool = True):
    word_tokenizer(eos).save_pretrained(directory)
    return directory


# --------------------------------------------------------------------------- byte-level BPE

SPECIAL = ["<s>", "</s>", "<pad>"]
TRAINING_TEXT = [
    "Question: Roger has 5 tennis balls. He buys 2 more cans. The answer is 11.",
    "Step-by-Step Answer: 5 + 6 = 11. The answer is 11.",
    "The following are multiple choice questions (with answers) about biology.",
    "A. cell B. atom C. energy D. mass Answer: A",
    "Pregunta: ¿Cuántos? Respuesta paso a paso: La respuesta es 29.",
    "0 1 2 3 4 5 6 7 8 9 10 100 1,000 3.5",
]


def bpe_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on a few benchmark-like lines, <s> prepended, left padding."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        padding_side="left",
    )


def generating_llama(tokenizer, seed: int = 0) -> LlamaForCausalLM:
    """A tiny LLaMA for `tokenizer` with peaked logits (greedy choices far from ties)."""
    return llama(
        len(tokenizer),
        seed=seed,
        max_position_embeddings=2048,
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ).eval()


def save_tiny_model(directory, seed: int = 0):
    """Write a tiny model directory; return (model, tokenizer) as loaded in memory."""
    tokenizer = bpe_tokenizer()
    model = generating_llama(tokenizer, seed)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model, tokenizer
