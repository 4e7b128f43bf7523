"""Starting a training job on the processes a workflow job was given.

A job given `gpus` GPUs (its `gpu` resource) trains in `gpus` processes on this node, on its
GPUs (`device="gpu"`), or on the CPU (`device="cpu"`: the cluster's launch rehearsed where
there are no GPUs, the processes joined by gloo). One process (none given: one on the CPU):
`train` runs in this process. Several: `torchrun` starts them, each running
`python -m maec.launch ARGS.json`; DeepSpeed (ZeRO) joins full-parameter runs, DDP the
replicas of a LoRA run. Everything that can be checked before hours are spent is checked
here first: the GPUs are visible, the batch divides over the processes, and several
processes have a way to be joined.
"""

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from maec.tokens import TokenBlocks
from maec.training.plan import plan_steps

log = logging.getLogger(__name__)

DEVICES = ("gpu", "cpu")


def check_gpus(gpus: int) -> None:
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


def _torchrun_env(device: str) -> dict[str, str]:
    env = dict(os.environ)
    if device == "cpu":
        env["DS_ACCELERATOR"] = "cpu"  # DeepSpeed would pick a visible GPU otherwise
    return env


def launch_training(
    gpus: int, backbone, corpora, out_dir, *, device: str = "gpu", job_log=None, **kwargs
):
    """Run `train` in `gpus` processes of this node (0 or 1: in this process), on its GPUs
    or, with `device="cpu"`, on the CPU. `job_log`: a file the processes' output is
    appended to (the workflow job's log)."""
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
    check_batch(args, processes)
    if processes == 1:
        from maec.training import train

        train(**args)
        return
    if not args.get("deepspeed_config") and not args.get("lora"):
        raise ValueError(
            f"{processes} processes need a deepspeed_config (training.deepspeed_config) to "
            "train a full model; LoRA runs are joined by DDP"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(args, handle)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        "maec.launch",
        handle.name,
    ]
    log.info("starting %s", " ".join(command))
    try:
        with contextlib.ExitStack() as stack:
            output = None if job_log is None else stack.enter_context(open(job_log, "a"))
            subprocess.run(
                command, check=True, env=_torchrun_env(device), stdout=output, stderr=output
            )
    finally:
        Path(handle.name).unlink(missing_ok=True)


if __name__ == "__main__":
    # One rank of a torchrun launch: the arguments come as a JSON file; its progress lines
    # go to stderr, which the launcher sends to the job's log.
    import warnings

    from maec.training import train

    warnings.filterwarnings("once", category=FutureWarning)  # torch's, at every collective
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    train(**json.loads(Path(sys.argv[1]).read_text()))
