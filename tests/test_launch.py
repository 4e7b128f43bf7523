"""Starting training on a job's GPUs: the checks that run before any training."""

import pytest
import torch
from test_training import ARGS, world  # noqa: F401  (the tiny backbone and corpora fixture)

from maec.launch import check_batch, check_gpus, launch_training


def test_a_gpu_job_without_a_visible_gpu_stops_at_once(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(RuntimeError, match="given 2 GPU"):
        check_gpus(2)


def test_a_batch_that_does_not_divide_over_the_gpus_is_refused(world):  # noqa: F811
    tmp, cats, _ = world
    args = dict(corpora=[[cats, 1.0]], total_tokens=640, batch_tokens=64, micro_batch_size=2)
    check_batch(args, 1)  # 64 tokens = 2 blocks of 16 x 2 accumulation steps
    with pytest.raises(ValueError, match=r"processes \(3\)"):
        check_batch(args, 3)


def test_without_gpus_training_runs_in_this_process(world):  # noqa: F811
    tmp, cats, _ = world
    args = {k: v for k, v in ARGS.items() if k != "device"}
    launch_training(0, tmp / "fp32", [(cats, 1.0)], tmp / "out", **args)
    assert (tmp / "out" / "training.json").exists()


def test_several_gpus_need_deepspeed(world, monkeypatch):  # noqa: F811
    tmp, cats, _ = world
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    args = {k: v for k, v in ARGS.items() if k != "device"}
    with pytest.raises(ValueError, match="deepspeed_config"):
        launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", **args)
    assert not (tmp / "out").exists()


def test_cpu_processes_skip_the_gpu_check_but_not_the_others(world, monkeypatch):  # noqa: F811
    tmp, cats, _ = world
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    args = {k: v for k, v in ARGS.items() if k != "device"}
    with pytest.raises(ValueError, match="training device must be one of"):
        launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", device="tpu", **args)
    with pytest.raises(ValueError, match="deepspeed_config"):
        launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", device="cpu", **args)
    assert not (tmp / "out").exists()
