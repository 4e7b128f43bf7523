"""Starting a training job on the GPUs a workflow job was given.

One GPU or none: `train` runs in this process. Several: `torchrun` starts one process per
GPU on this node, each running `python -m maec.launch ARGS.json`, and DeepSpeed (ZeRO) joins
them. Everything that can be checked before hours are spent is checked here first: the GPUs
are visible, and the batch divides over them.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from maec.tokens import TokenBlocks
from maec.training import train
from maec.training.plan import plan_steps

log = logging.getLogger(__name__)


def check_gpus(gpus: int) -> None:
    visible = torch.cuda.device_count()
    if gpus > visible:
        raise RuntimeError(
            f"this job was given {gpus} GPU(s) but {visible} are visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); "
            "check the rule's `gpu` resource and the cluster's GPU allocation"
        )


def check_batch(args: dict, processes: int) -> None:
    """The configured tokens per batch must split into whole micro-batches on every GPU."""
    block_size = TokenBlocks(args["corpora"][0][0]).block_size
    plan_steps(
        args["total_tokens"], args["batch_tokens"], args["micro_batch_size"], block_size, processes
    )


def launch_training(gpus: int, backbone, corpora, out_dir, **kwargs) -> None:
    """Run `train` on `gpus` GPUs of this node (0 or 1: in this process)."""
    args = dict(
        backbone=str(backbone),
        corpora=[[str(p), w] for p, w in corpora],
        out_dir=str(out_dir),
        **kwargs,
    )
    if gpus > 0:
        check_gpus(gpus)
    processes = max(gpus, 1)
    check_batch(args, processes)
    if processes == 1:
        train(**args, device="cuda" if gpus else None)
        return
    if not args.get("deepspeed_config"):
        raise ValueError(f"{gpus} GPUs need a deepspeed_config (training.deepspeed_config)")
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
        subprocess.run(command, check=True)
    finally:
        Path(handle.name).unlink(missing_ok=True)


if __name__ == "__main__":
    # One rank of a torchrun launch: the arguments come as a JSON file.
    train(**json.loads(Path(sys.argv[1]).read_text()))
