"""Starting training on a job's GPUs: the checks that run before any training."""

import sys

import pytest
import torch
from helpers.training import ARGS

from maec.training import launch
from maec.training.launch import check_batch, check_gpus, launch_training, node_launch_command


def test_a_gpu_job_without_a_visible_gpu_stops_at_once(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(RuntimeError, match="given 2 GPU"):
        check_gpus(2)


def test_a_batch_that_does_not_divide_over_the_gpus_is_refused(world):
    tmp, cats, _ = world
    args = dict(corpora=[[cats, 1.0]], total_tokens=640, batch_tokens=64, micro_batch_size=2)
    check_batch(args, 1)  # 64 tokens = 2 blocks of 16 x 2 accumulation steps
    with pytest.raises(ValueError, match=r"processes \(3\)"):
        check_batch(args, 3)


def test_without_gpus_training_runs_in_this_process(world):
    tmp, cats, _ = world
    args = {k: v for k, v in ARGS.items() if k != "device"}
    launch_training(0, tmp / "fp32", [(cats, 1.0)], tmp / "out", **args)
    assert (tmp / "out" / "training.json").exists()


def test_several_gpus_need_deepspeed(world, monkeypatch):
    tmp, cats, _ = world
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    args = {k: v for k, v in ARGS.items() if k != "device"}
    with pytest.raises(ValueError, match="deepspeed_config"):
        launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", **args)
    assert not (tmp / "out").exists()


def test_several_nodes_need_a_slurm_job(world, monkeypatch):
    tmp, cats, _ = world
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    args = {k: v for k, v in ARGS.items() if k != "device"}
    with pytest.raises(RuntimeError, match="inside a Slurm job"):
        launch_training(
            0, tmp / "fp32", [(cats, 1.0)], tmp / "out", nodes=2, optimizer_state="sparse", **args
        )
    assert not (tmp / "out").exists() and not list(tmp.glob(".out.*"))


def test_node_launch_command_by_hand(tmp_path):
    """One torchrun per node, meeting at a c10d rendezvous on the first host; on one host,
    tasks that each act as a node."""
    command = node_launch_command(2, 4, 16, "1234", ["gpu-a", "gpu-b"], tmp_path / "args.json")
    srun = ["srun", "--overlap", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1"]
    srun += ["--cpus-per-task=16", "--kill-on-bad-exit=1"]
    torchrun = ["-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=4"]
    torchrun += ["--rdzv-backend=c10d", "--rdzv-endpoint=gpu-a:29634", "--rdzv-id=maec-1234"]
    assert command == [
        *srun,
        sys.executable,
        *torchrun,
        "-m",
        "maec.training.launch",
        str(tmp_path / "args.json"),
    ]
    one_host = node_launch_command(2, 1, 1, "7", ["local"], tmp_path / "args.json")
    assert "--nodes=1" in one_host and "--ntasks-per-node=2" in one_host


def test_cpu_processes_skip_the_gpu_check_but_not_the_others(world, monkeypatch):
    tmp, cats, _ = world
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    args = {k: v for k, v in ARGS.items() if k != "device"}
    with pytest.raises(ValueError, match="training device must be one of"):
        launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", device="tpu", **args)
    with pytest.raises(ValueError, match="deepspeed_config"):
        launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", device="cpu", **args)
    assert not (tmp / "out").exists()


def test_torchrun_processes_share_the_threads_and_run_without_dynamo(world, monkeypatch):
    tmp, cats, _ = world
    launched = []

    def run(cmd, **kw):
        launched.append(kw["env"])
        return launch.subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(launch.subprocess, "run", run)
    args = {k: v for k, v in ARGS.items() if k != "device"}
    options = dict(device="cpu", optimizer_state="sparse", **args)
    monkeypatch.setenv("OMP_NUM_THREADS", "5")  # Snakemake's: all the job's threads
    monkeypatch.delenv("TORCHDYNAMO_DISABLE", raising=False)
    launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", threads=5, **options)
    monkeypatch.setenv("TORCHDYNAMO_DISABLE", "0")
    launch_training(2, tmp / "fp32", [(cats, 1.0)], tmp / "out", **options)
    assert [env["OMP_NUM_THREADS"] for env in launched] == ["2", "1"]
    assert [env["TORCHDYNAMO_DISABLE"] for env in launched] == ["1", "0"]
    assert all(env["DS_ACCELERATOR"] == "cpu" for env in launched)


@pytest.mark.reliability
def test_a_process_that_fails_at_exit_after_the_save_keeps_the_run(tmp_path, caplog):
    command = ["torchrun", "..."]
    out = tmp_path / "out"
    with pytest.raises(launch.subprocess.CalledProcessError):
        launch.check_launch(1, command, out)  # nothing saved: the job fails
    out.mkdir()
    (out / "training.json").write_text("{}")
    launch.check_launch(-6, command, out)
    assert "exited with -6 after" in caplog.text
    launch.check_launch(0, command, out)
    with pytest.raises(launch.subprocess.CalledProcessError):
        launch.check_launch(1, command, out, saved_before=True)  # an earlier run's output
