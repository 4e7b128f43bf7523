"""Starting a training job on the processes (and nodes) a workflow job was given.

A job given `gpus` GPUs (its `gpu` resource) trains in `gpus` processes on each of its
nodes, on their GPUs (`device="gpu"`), or on the CPU (`device="cpu"`: the cluster's launch
rehearsed where there are no GPUs, the processes joined by gloo). One process (none given:
one on the CPU): `train` runs in this process. Several on one node: `torchrun` starts them,
each running `python -m maec.training.launch ARGS.json`; DeepSpeed (ZeRO) or the sparse optimizer
state joins full-parameter runs, DDP the replicas of a LoRA run. Several nodes (a Slurm job
of one task per node): `srun` starts `torchrun` on every node, which meet at a c10d
rendezvous on the job's first node. Everything that can be checked before hours are spent
is checked here first: the GPUs are visible, the batch divides over the processes, several
processes have a way to be joined, and several nodes are a Slurm job.
"""

import contextlib
import json
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

from maec.data.tokens import TokenBlocks
from maec.io.atomic import remove, temporary_sibling
from maec.training.plan import plan_steps

log = logging.getLogger(__name__)

# torchrun's own default rendezvous port, offset by the job id so that two jobs that share a
# node do not meet each other.
RENDEZVOUS_PORT = 29400

DEVICES = ("gpu", "cpu")


def check_gpus(gpus: int) -> None:
    import torch  # here, not above: the launching process of a CPU run needs no torch

    visible = torch.cuda.device_count()
    if gpus > visible:
        raise RuntimeError(
            f"this job was given {gpus} GPU(s) but {visible} are visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); "
            "check the rule's `gpu` resource and the cluster's GPU allocation "
            "(training.device: cpu runs them as CPU processes)"
        )


def check_batch(args: dict, processes: int) -> None:
    """The configured tokens per batch must split into whole micro-batches on every process."""
    block_size = TokenBlocks(args["corpora"][0][0]).block_size
    plan_steps(
        args["total_tokens"], args["batch_tokens"], args["micro_batch_size"], block_size, processes
    )


def slurm_hosts() -> tuple[str, list[str]]:
    """This Slurm job's id and the host names of its nodes, in order (the first is the
    head). The node list comes from the environment, or from squeue where the job step
    that runs this process left it out."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        raise RuntimeError(
            "training on several nodes runs inside a Slurm job (SLURM_JOB_ID is not set); "
            "set resources.train.nodes to 1 for a local run"
        )
    nodelist = (
        os.environ.get("SLURM_JOB_NODELIST")
        or subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%N"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    hosts = subprocess.run(
        ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True
    ).stdout.split()
    return job, hosts


def node_launch_command(
    nodes: int, processes: int, threads: int, job: str, hosts: list[str], args_file: Path
) -> list[str]:
    """srun starting one torchrun per node (``nodes`` tasks over the job's hosts; on one
    host, tasks that each act as a node), which meet at a c10d rendezvous on the first host;
    the rendezvous numbers the nodes itself."""
    port = RENDEZVOUS_PORT + int(job) % 1000
    return [
        "srun",
        "--overlap",
        f"--nodes={len(hosts)}",
        f"--ntasks={nodes}",
        f"--ntasks-per-node={-(-nodes // len(hosts))}",
        f"--cpus-per-task={threads}",
        "--kill-on-bad-exit=1",
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nnodes={nodes}",
        f"--nproc-per-node={processes}",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint={hosts[0]}:{port}",
        f"--rdzv-id=maec-{job}",
        "-m",
        "maec.training.launch",
        str(args_file),
    ]


def _torchrun_env(device: str, threads: int, processes: int) -> dict[str, str]:
    env = dict(os.environ)
    # The node's CPUs shared by its processes (the job's OMP_NUM_THREADS, set by Snakemake to
    # all of them, would give each process as many threads as the node has CPUs).
    env["OMP_NUM_THREADS"] = str(max(1, threads // processes))
    # Training never compiles; DeepSpeed's ZeRO optimizers import its Muon kernels, whose
    # torch.compile decorators would import the inductor (seconds of start-up per process).
    env.setdefault("TORCHDYNAMO_DISABLE", "1")
    if device == "cpu":
        env["DS_ACCELERATOR"] = "cpu"  # DeepSpeed would pick a visible GPU otherwise
    return env


def launch_training(
    gpus: int,
    backbone,
    corpora,
    out_dir,
    *,
    nodes: int = 1,
    threads: int = 1,
    device: str = "gpu",
    job_log=None,
    **kwargs,
) -> None:
    """Run `train` in `gpus` processes on each of `nodes` nodes (one node, 0 or 1 GPU: in
    this process), on their GPUs or, with `device="cpu"`, on the CPU. `threads`: CPUs of a
    node's task. `job_log`: a file the processes' output is appended to (the workflow job's
    log)."""
    if device not in DEVICES:
        raise ValueError(f"training device must be one of {DEVICES}, got {device!r}")
    args = dict(
        backbone=str(backbone),
        corpora=[[str(p), w] for p, w in corpora],
        out_dir=str(out_dir),
        device="cpu" if device == "cpu" else ("cuda" if gpus else None),
        **kwargs,
    )
    if gpus > 0 and device == "gpu":
        check_gpus(gpus)
    processes = max(gpus, 1)
    check_batch(args, processes * nodes)
    if processes * nodes == 1:
        from maec.training import train

        train(**args)
        return
    joined = args.get("deepspeed_config") or args.get("lora")
    if not joined and args.get("optimizer_state") != "sparse":
        raise ValueError(
            f"{processes * nodes} processes need a deepspeed_config (training.deepspeed_config) "
            "or the sparse optimizer state (training.optimizer_state: sparse) to train a full "
            "model; LoRA runs are joined by DDP"
        )
    # beside the output: every node reads it (the working directory is shared)
    args_file = temporary_sibling(out_dir, f"{os.getpid()}-launch")
    if nodes == 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += [f"--nproc_per_node={processes}", "-m", "maec.training.launch", str(args_file)]
    else:
        job, hosts = slurm_hosts()
        command = node_launch_command(nodes, processes, threads, job, hosts, args_file)
    log.info("starting %s", shlex.join(command))
    args_file.parent.mkdir(parents=True, exist_ok=True)
    saved_before = (Path(out_dir) / "training.json").is_file()
    try:
        args_file.write_text(json.dumps(args))
        with contextlib.ExitStack() as stack:
            output = None if job_log is None else stack.enter_context(open(job_log, "a"))
            finished = subprocess.run(
                command,
                env=_torchrun_env(device, threads, processes),
                stdout=output,
                stderr=output,
            )
    finally:
        remove(args_file)
    check_launch(finished.returncode, command, Path(out_dir), saved_before)


def check_launch(
    returncode: int, command: list[str], out_dir: Path, saved_before: bool = False
) -> None:
    """Raise unless the processes saved the model: torchrun exits non-zero when a process
    dies, and on the CPU a rank sometimes aborts in a C++ destructor at its exit ("terminate
    called without an active exception") after process 0 saved the run, which it does only
    after every step and whole (the directory with `training.json` is renamed into place).
    Such a run is kept, with a warning in the job's log; a run saved before this launch
    (`saved_before`) says nothing of it."""
    if returncode == 0:
        return
    if saved_before or not (out_dir / "training.json").is_file():
        raise subprocess.CalledProcessError(returncode, command)
    log.warning(
        "torchrun exited with %d after %s was saved whole (a process failed at its exit); "
        "the saved run is kept",
        returncode,
        out_dir,
    )


if __name__ == "__main__":
    # One rank of a torchrun launch: the arguments come as a JSON file; its progress lines
    # go to stderr, which the launcher sends to the job's log.
    import warnings

    from maec.training import train
    from maec.workflow.joblog import skip_exit_collection

    skip_exit_collection()
    warnings.filterwarnings("once", category=FutureWarning)  # torch's, at every collective
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    train(**json.loads(Path(sys.argv[1]).read_text()))
    import torch.distributed as dist

    if dist.is_initialized():
        # Join the process group's threads before the interpreter exits: left to the exit,
        # a rank can abort in a C++ destructor after the model was saved ("terminate called
        # without an active exception"), and torchrun then fails the whole job.
        dist.destroy_process_group()
