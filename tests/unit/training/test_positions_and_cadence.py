"""Training's checks on a tiny backbone: token blocks longer than the model's positions are
refused before any training, and a run's identity (what a resume must match) leaves out its
cadence (micro-batch size, save and log intervals)."""

import json

import pytest
import torch
from helpers.tiny import llama, save_word_tokenizer

from maec.data.tokens import pack_corpus
from maec.training import setup as training_setup
from maec.training import train

pytestmark = pytest.mark.reliability

torch.set_num_threads(1)


@pytest.fixture
def tiny_training(tmp_path):
    llama(64, max_position_embeddings=16).save_pretrained(tmp_path / "backbone")
    save_word_tokenizer(tmp_path / "backbone")
    corpus = tmp_path / "cats.jsonl"
    corpus.write_text(json.dumps({"text": "the cat sat on a mat " * 20}) + "\n")
    return tmp_path, corpus


def test_blocks_longer_than_the_model_positions_are_refused_before_training(tiny_training):
    tmp_path, corpus = tiny_training
    pack_corpus(corpus, tmp_path / "backbone", tmp_path / "tokens", block_size=32)
    with pytest.raises(
        ValueError, match=r"block_size 32, but the backbone .* has max_position_embeddings 16"
    ):
        train(
            tmp_path / "backbone",
            [(str(tmp_path / "tokens"), 1.0)],
            tmp_path / "out",
            lr=1e-3,
            total_tokens=64,
            batch_tokens=64,
            micro_batch_size=2,
            device="cpu",
        )
    assert not (tmp_path / "out").exists()


def _identity(tiny_training, **cadence):
    tmp_path, corpus = tiny_training
    if not (tmp_path / "tokens.npy").exists():
        pack_corpus(corpus, tmp_path / "backbone", tmp_path / "tokens", block_size=8)
    opts = training_setup.Options(
        lr=1e-3,
        total_tokens=256,
        batch_tokens=64,
        seed=0,
        warmup_steps=0,
        lr_schedule="constant",
        weight_decay=0.0,
        max_grad_norm=1.0,
        precision="fp32",
        deepspeed_config=None,
        lora=None,
        optimizer_state="dense",
        gradient_checkpointing=False,
        **cadence,
    )
    corpora = [(str(tmp_path / "tokens"), 1.0)]
    run = training_setup.validate(
        opts, tmp_path / "backbone", corpora, tmp_path / "out", tmp_path / "resume", None, "cpu"
    )
    training_setup.identify(opts, run, None)
    return run.identity


def test_a_run_resumed_with_another_cadence_is_the_same_run(tiny_training):
    first = _identity(tiny_training, micro_batch_size=8, save_every_steps=2, log_every_steps=1)
    other = _identity(tiny_training, micro_batch_size=2, save_every_steps=5, log_every_steps=3)
    assert first == other
