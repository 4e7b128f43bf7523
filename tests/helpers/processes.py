"""Training runs in processes of their own, launched as a job launches them: one process
(killed and restarted), or torchrun's processes on the CPU."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from maec.training.backends import free_port

# One script for every process: train() with the arguments of a JSON file (a mask, if
# any, saved with torch.save beside it).
TRAIN_SCRIPT = """
import json, sys, torch
torch.set_num_threads(1)
from maec.training import train
args = json.loads(open(sys.argv[1]).read())
mask = torch.load(args.pop("mask")) if "mask" in args else None
corpora = [tuple(c) for c in args.pop("corpora")]
train(args.pop("backbone"), corpora, args.pop("out_dir"), mask=mask, **args)
"""
# What a torchrun launch sets for its processes; a test's own must not leak into them.
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def training_command(folder: Path, backbone, corpora, out_dir, mask=None, **args) -> list[str]:
    """The script and its arguments, written under `folder`; returns the script's argv."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = dict(backbone=str(backbone), corpora=[[str(c), w] for c, w in corpora])
    payload.update(
        out_dir=str(out_dir), **{k: str(v) if isinstance(v, Path) else v for k, v in args.items()}
    )
    if mask is not None:
        torch.save(mask, folder / "mask.pt")
        payload["mask"] = str(folder / "mask.pt")
    (folder / "train.py").write_text(TRAIN_SCRIPT)
    (folder / "args.json").write_text(json.dumps(payload))
    return [str(folder / "train.py"), str(folder / "args.json")]


def process_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES}
    return env | {"OMP_NUM_THREADS": "1"}


def run_torchrun(folder: Path, processes: int, *train_args, timeout=300, **train_kwargs):
    """train() under `python -m torch.distributed.run` with `processes` CPU processes."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes)]
    command += ["--master-port", str(free_port())]
    command += training_command(folder, *train_args, **train_kwargs)
    proc = subprocess.run(
        command, env=process_env(), capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise AssertionError(f"torchrun failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def kill_after_first_save(
    folder: Path, resume_dir: Path, out_dir: Path, *train_args, **train_kwargs
):
    """train() in a process of its own, killed (SIGKILL) as soon as it has saved a resume
    state, then run again to its end; returns the second run's training.json."""
    argv = [
        sys.executable,
        *training_command(
            folder, *train_args, out_dir=out_dir, resume_dir=resume_dir, **train_kwargs
        ),
    ]
    process = subprocess.Popen(
        argv, env=process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not list(Path(resume_dir).glob("state-*")):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert not Path(out_dir).exists(), "the run finished before it was killed"
    subprocess.run(argv, env=process_env(), check=True, stdout=subprocess.DEVNULL)
    return json.loads((Path(out_dir) / "training.json").read_text())
