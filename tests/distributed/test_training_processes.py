"""Training in processes of their own, launched as a job launches them: a run killed and
restarted resumes to the uninterrupted result (dense and sparse state), and torchrun's two
CPU processes (DeepSpeed, the sparse state, DDP for LoRA) match one process."""

import json

import pytest
import torch
from helpers.processes import kill_after_first_save, run_torchrun
from helpers.training import CONFIGS, bits, mask_with_embedding_rows, partial_mask, weights

from maec.training import train
from maec.training.launch import launch_training

torch.set_num_threads(1)

# A run long enough to be killed after its first saved state (every 3 steps).
RESUMED = dict(
    lr=3e-3,
    batch_tokens=64,
    micro_batch_size=2,
    seed=5,
    weight_decay=0.05,
    lr_schedule="linear",
    warmup_steps=3,
    device="cpu",
)


def test_killed_run_resumes_to_the_uninterrupted_result(world):
    tmp_path, cats, dogs = world
    steps = 150
    corpora = [(cats, 0.7), (dogs, 0.3)]
    args = dict(RESUMED, total_tokens=steps * 64, save_every_steps=3)
    reference = train(
        tmp_path / "fp32", corpora, tmp_path / "reference", resume_dir=tmp_path / "unused", **args
    )
    assert reference["resumed_from_step"] == 0
    resumed = kill_after_first_save(
        tmp_path / "job", tmp_path / "resume", tmp_path / "out", tmp_path / "fp32", corpora, **args
    )
    assert 0 < resumed["resumed_from_step"] < steps
    assert not (tmp_path / "resume").exists()
    expected, got = weights(tmp_path / "reference"), weights(tmp_path / "out")
    for name in expected:
        assert torch.equal(bits(got[name]), bits(expected[name])), name
    assert resumed["final_loss"] == reference["final_loss"]


def test_killed_sparse_run_resumes_to_the_dense_result(world):
    """SIGKILL during a sparse bf16 run, then a restart: the weights of an uninterrupted
    dense run, bit for bit."""
    tmp, cats, dogs = world
    steps = 60
    corpora = [(cats, 0.7), (dogs, 0.3)]
    mask = mask_with_embedding_rows(weights(tmp / "bf16"))
    args = dict(RESUMED, total_tokens=steps * 64, precision="bf16")
    reference = train(tmp / "bf16", corpora, tmp / "reference", mask=mask, **args)
    resumed = kill_after_first_save(
        tmp / "job",
        tmp / "resume",
        tmp / "out",
        tmp / "bf16",
        corpora,
        mask=mask,
        optimizer_state="sparse",
        save_every_steps=3,
        **args,
    )
    assert 0 < resumed["resumed_from_step"] < steps and not (tmp / "resume").exists()
    expected, got = weights(tmp / "reference"), weights(tmp / "out")
    for name in expected:
        assert torch.equal(bits(got[name]), bits(expected[name])), name
    assert resumed["final_loss"] == reference["final_loss"]


def _two_match_one(tmp, mask, corpora, **args):
    """torchrun with 2 processes (rows of each step split between them) gives the weights
    of one process accumulating twice as many micro-batches, and keeps the invariant."""
    run_torchrun(tmp / "job", 2, tmp / "fp32", corpora, tmp / "two", mask=mask, **args)
    two = json.loads((tmp / "two" / "training.json").read_text())
    assert two["args"]["world_size"] == 2 and two["gradient_accumulation"] == 2
    one = train(tmp / "fp32", corpora, tmp / "one", mask=mask, **args)
    assert one["gradient_accumulation"] == 4
    assert two["final_loss"] == pytest.approx(one["final_loss"], rel=1e-5)
    before, got, expected = (weights(tmp / d) for d in ("fp32", "two", "one"))
    for name in before:
        inside = mask.get(name, torch.zeros(before[name].shape, dtype=torch.bool))
        assert torch.equal(bits(got[name])[~inside], bits(before[name])[~inside]), name
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)


TWO_PROCESSES = dict(
    lr=1e-2, total_tokens=4 * 128, batch_tokens=128, micro_batch_size=2, seed=2, weight_decay=0.1
)


def test_deepspeed_two_processes_match_one(world, deepspeed_env):
    tmp, cats, dogs = world
    mask = partial_mask(weights(tmp / "fp32"))
    corpora = [(cats, 0.5), (dogs, 0.5)]
    deepspeed = dict(precision="fp32", deepspeed_config=str(CONFIGS / "zero2.json"))
    _two_match_one(tmp, mask, corpora, **TWO_PROCESSES, **deepspeed)


def test_sparse_two_processes_match_one(world):
    """The sparse state on two processes (gloo; masked gradients all-reduced)."""
    tmp, cats, dogs = world
    mask = mask_with_embedding_rows(weights(tmp / "fp32"))
    corpora = [(cats, 0.5), (dogs, 0.5)]
    _two_match_one(tmp, mask, corpora, **TWO_PROCESSES, optimizer_state="sparse", device="cpu")


def test_lora_on_two_cpu_processes_matches_one(world):
    """A LoRA run launched as on the cluster (torchrun, here 2 CPU processes joined by
    gloo) trains DDP replicas that take the same steps as one process accumulating twice as
    many micro-batches; the replicas are checked equal bit for bit before rank 0 saves."""
    tmp_path, cats, dogs = world
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    args = dict(
        lr=1e-2, total_tokens=4 * 128, batch_tokens=128, micro_batch_size=2, seed=2, lora=lora
    )
    corpora = [(cats, 0.5), (dogs, 0.5)]
    launch_training(2, tmp_path / "fp32", corpora, tmp_path / "two", device="cpu", **args)
    two = json.loads((tmp_path / "two" / "training.json").read_text())
    assert two["args"]["world_size"] == 2 and two["gradient_accumulation"] == 2
    one = train(tmp_path / "fp32", corpora, tmp_path / "one", device="cpu", **args)
    assert one["gradient_accumulation"] == 4
    assert two["final_loss"] == pytest.approx(one["final_loss"], rel=1e-5)
    before, got, expected = (weights(tmp_path / d) for d in ("fp32", "two", "one"))
    for name in before:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
        assert torch.equal(got[name], before[name]) == (
            "q_proj" not in name and "v_proj" not in name
        )
