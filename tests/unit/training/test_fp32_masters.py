"""The importance CPT's float32 master weights: saved in every backend, read by Eq. 1."""

import json
import math

import pytest
import torch
from helpers.checkpoints import load_checkpoint
from helpers.tie_keys import reference_key
from helpers.training import (
    ARGS,
    CONFIGS,
    bits,
    make_backbone,
    make_corpus,
    mask_with_embedding_rows,
    weights,
)
from transformers import AutoModelForCausalLM

from maec.io.format import CheckpointError
from maec.keyneurons.masks import build_key_neuron_mask, kept_count, read_mask
from maec.training import train
from maec.training.backends import free_port
from maec.training.masters import FP32_MASTER_DIR, float32_masters

torch.set_num_threads(1)


@pytest.fixture
def bf16_world(tmp_path):
    make_backbone(tmp_path / "bf16", torch.bfloat16)
    cats = make_corpus(tmp_path, "cats", ["the cat sat on a mat", "a cat ran far away"], 40)
    return tmp_path, cats


def check_masters(run_dir, backbone_dir):
    """The masters are float32, round to the saved bf16 weights bit for bit, and hold more
    than they do: some moved entries are not bf16 values."""
    masters = load_checkpoint(run_dir / FP32_MASTER_DIR)
    saved, before = weights(run_dir), weights(backbone_dir)
    assert set(masters) == set(saved)
    finer = 0
    for name, master in masters.items():
        assert master.dtype == torch.float32, name
        assert torch.equal(bits(master.to(torch.bfloat16)), bits(saved[name])), name
        finer += int((master != saved[name].float()).sum())
    moved = sum(int((saved[n] != before[n]).sum()) for n in saved)
    assert finer > 0.5 * moved > 0
    assert json.loads((run_dir / "training.json").read_text())["fp32_masters"] == FP32_MASTER_DIR
    assert AutoModelForCausalLM.from_pretrained(run_dir).dtype == torch.bfloat16
    assert float32_masters(run_dir) == run_dir / FP32_MASTER_DIR


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_plain_loop_saves_fp32_masters(bf16_world, precision):
    tmp_path, cats = bf16_world
    train(
        tmp_path / "bf16",
        [(cats, 1.0)],
        tmp_path / "out",
        precision=precision,
        fp32_masters=True,
        **ARGS,
    )
    check_masters(tmp_path / "out", tmp_path / "bf16")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_sparse_state_saves_the_masters_of_the_dense_masked_path(bf16_world):
    """A bf16 weight holds the sparse state's masked masters rounded; the saved masters are
    the masters themselves, those of the dense masked path bit for bit."""
    tmp_path, cats = bf16_world
    mask = mask_with_embedding_rows(weights(tmp_path / "bf16"))
    for state in ("dense", "sparse"):
        train(
            tmp_path / "bf16",
            [(cats, 1.0)],
            tmp_path / state,
            mask=mask,
            optimizer_state=state,
            precision="bf16",
            fp32_masters=True,
            **ARGS,
        )
    check_masters(tmp_path / "sparse", tmp_path / "bf16")
    dense, sparse = (load_checkpoint(tmp_path / s / FP32_MASTER_DIR) for s in ("dense", "sparse"))
    for name, master in dense.items():
        assert torch.equal(bits(sparse[name]), bits(master)), name


@pytest.mark.parametrize(
    ("stage", "precision"), [("zero2", "bf16"), ("zero3", "bf16"), ("zero2", "fp32")]
)
def test_deepspeed_saves_fp32_masters(bf16_world, monkeypatch, stage, precision):
    pytest.importorskip("deepspeed")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    tmp_path, cats = bf16_world
    train(
        tmp_path / "bf16",
        [(cats, 1.0)],
        tmp_path / "out",
        precision=precision,
        deepspeed_config=CONFIGS / f"{stage}.json",
        fp32_masters=True,
        **ARGS,
    )
    check_masters(tmp_path / "out", tmp_path / "bf16")


def test_a_run_without_masters_is_refused_for_eq1(bf16_world):
    tmp_path, cats = bf16_world
    train(tmp_path / "bf16", [(cats, 1.0)], tmp_path / "out", **ARGS)
    assert not (tmp_path / "out" / FP32_MASTER_DIR).exists()
    with pytest.raises(CheckpointError, match=f"out: no {FP32_MASTER_DIR}/"):
        float32_masters(tmp_path / "out")


def reference_top_k(masters, backbone, lr, k1, seed):
    """The global top k1 by Eq. 1 computed in memory from the float32 masters; ties at the
    threshold by the documented tie keys. Returns (kept (name, index) pairs, tied count)."""
    entries = []
    for name in sorted(masters):
        importance = (masters[name] - backbone[name].float()).abs() / lr
        entries += [(v, name, i) for i, v in enumerate(importance.reshape(-1).tolist())]
    k = kept_count(k1, len(entries))
    threshold = sorted((v for v, _, _ in entries), reverse=True)[k - 1]
    kept = {(n, i) for v, n, i in entries if v > threshold}
    tied = [(n, i) for v, n, i in entries if v == threshold]
    by_key = sorted(tied, key=lambda t: reference_key(t[0], seed, t[1]), reverse=True)
    return kept | set(by_key[: k - len(kept)]), len(tied)


def test_mask_from_fp32_masters_equals_the_in_memory_reference(bf16_world):
    """The workflow's path (float32_masters, then build_key_neuron_mask) on a trained bf16
    backbone selects the reference's top k1; the bf16-rounded checkpoint ties far more."""
    tmp_path, cats = bf16_world
    lr = 1e-3
    train(
        tmp_path / "bf16",
        [(cats, 1.0)],
        tmp_path / "imp",
        precision="bf16",
        fp32_masters=True,
        **{**ARGS, "lr": lr},
    )
    summary = build_key_neuron_mask(
        tmp_path / "bf16",
        float32_masters(tmp_path / "imp"),
        tmp_path / "mask.safetensors",
        k1=0.05,
        lr=lr,
        tie_seed=4,
        chunk_bytes=256,
    )
    masters = load_checkpoint(tmp_path / "imp" / FP32_MASTER_DIR)
    expected, tied = reference_top_k(masters, weights(tmp_path / "bf16"), lr, 0.05, seed=4)
    mask = read_mask(tmp_path / "mask.safetensors")
    got = {(n, int(i)) for n, b in mask.items() for i in b.reshape(-1).nonzero().flatten()}
    assert got == expected and len(got) == summary["k"]
    assert summary["tied"] == tied
    rounded = build_key_neuron_mask(
        tmp_path / "bf16", tmp_path / "imp", tmp_path / "bf16.safetensors", k1=0.05, lr=lr
    )
    assert rounded["tied"] > 10 * max(tied, 1), (rounded["tied"], tied)
    assert math.isclose(rounded["density"], summary["density"])
