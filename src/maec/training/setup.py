"""Steps 1 and 2 of `train()`: validate the arguments, then identify the run.

Everything that can be checked is checked before the model is loaded (hours may follow);
a run's identity (backbone, mask, arguments) decides whether a saved state is resumed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from maec.data.tokens import TokenBlocks
from maec.io.reader import open_checkpoint
from maec.training.backends import deepspeed_settings
from maec.training.device import resolve_device
from maec.training.plan import PRECISIONS, StepPlan, lr_factor, plan_steps
from maec.training.resume import (
    backbone_fingerprint,
    corpus_fingerprint,
    find_state,
    mask_fingerprint,
)
from maec.training.sparse import OPTIMIZER_STATES, load_mask_indices
from maec.training.trainable import load_mask


@dataclass(frozen=True)
class Options:
    """The hyper-parameters of a run (train()'s keyword arguments that shape the result).

    ``max_grad_norm``: gradients are clipped to this global norm (0: no clipping), as
    DeepSpeed and the ``transformers`` Trainer do by default.
    ``deepspeed_config``: None (one process, torch AdamW) or a DeepSpeed JSON (ZeRO), run
    by every process of a ``deepspeed``/``torchrun`` launch or alone.
    ``lora``: train low-rank adapters instead (keys ``r``, ``alpha``, ``dropout``,
    ``target_modules``), merged into the weights when saving (the L-CPT baselines); on
    several processes of a launch (``WORLD_SIZE`` > 1) the replicas are joined by DDP.
    ``optimizer_state``: ``"dense"`` (AdamW state for every entry of a trained tensor) or
    ``"sparse"`` (a mask's entries only, `maec.training.sparse`; one process or every
    process of a torchrun launch, without DeepSpeed; same result as dense).
    ``gradient_checkpointing``: recompute activations in the backward pass (the plain and
    sparse paths; under DeepSpeed the config file's key also switches it on).
    ``fp32_masters``: also save the float32 master weights as ``out_dir/fp32_master/``
    (`maec.training.masters`), which the importance CPT's Eq. 1 reads.
    ``save_every_steps``, ``log_every_steps``: how often the resume state is saved and a
    progress line logged; like ``micro_batch_size`` they may differ when a run is resumed
    (`identify`).
    """

    lr: float
    total_tokens: int
    batch_tokens: int
    micro_batch_size: int
    seed: int
    warmup_steps: int
    lr_schedule: str
    weight_decay: float
    max_grad_norm: float
    save_every_steps: int
    log_every_steps: int
    precision: str
    deepspeed_config: str | os.PathLike | None
    lora: Mapping | None
    optimizer_state: str
    gradient_checkpointing: bool
    fp32_masters: bool = False


@dataclass
class Run:
    """What the steps of train() establish, in order."""

    backbone: Path
    out_dir: Path
    resume_dir: Path | None
    sources: list[tuple[TokenBlocks, float]]
    world_size: int
    plan: StepPlan
    schedule: Callable[[int], float]
    device: torch.device
    dtypes: dict[str, torch.dtype]
    deepspeed: dict | None = None  # the DeepSpeed config with train()'s values filled in
    checkpointing: bool = False  # activation checkpointing
    mask: dict | None = None  # name -> BoolTensor, or name -> MaskIndex (sparse state)
    mask_source: str | None = None
    identity: dict = field(default_factory=dict)
    state_dir: Path | None = None


def stored_dtypes(backbone: str | os.PathLike) -> dict[str, torch.dtype]:
    """Dtype of every tensor as stored in the backbone's safetensors files (the output
    holds exactly these tensors, in these dtypes)."""
    ckpt = open_checkpoint(backbone)
    return {name: ckpt.dtype(name) for name in ckpt.names}


def check_outputs(out_dir: Path, resume_dir: Path | None) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"out_dir {out_dir} already exists and is not empty")
    if resume_dir is not None:
        out, res = out_dir.resolve(), resume_dir.resolve()
        if res == out or out in res.parents:
            raise ValueError(
                f"resume_dir {resume_dir} must not be inside out_dir {out_dir} "
                "(outputs of failed jobs are deleted)"
            )


def check_positions(backbone: Path, block_size: int) -> None:
    """A block must fit the positions the model has: past max_position_embeddings a model
    trains on positions it was never made for, and nothing else would say so."""
    config = json.loads((backbone / "config.json").read_text())
    positions = config.get("max_position_embeddings")
    if positions is not None and block_size > positions:
        raise ValueError(
            f"the corpora have block_size {block_size}, but the backbone {backbone} has "
            f"max_position_embeddings {positions}: tokenize with a block size of at most "
            f"{positions} (tokenize.block_size)"
        )


def open_corpora(corpora: list[tuple[str, float]]) -> list[tuple[TokenBlocks, float]]:
    if not corpora:
        raise ValueError("train needs at least one corpus")
    sources = [(TokenBlocks(prefix), float(weight)) for prefix, weight in corpora]
    block_size = sources[0][0].block_size
    for blocks, _ in sources:
        if blocks.block_size != block_size:
            raise ValueError(
                f"corpus {blocks.prefix} has block size {blocks.block_size}, "
                f"{sources[0][0].prefix} has {block_size}"
            )
    return sources


def validate(opts: Options, backbone, corpora, out_dir, resume_dir, mask, device) -> Run:
    """Step 1: everything that can be checked before the model is loaded."""
    backbone, out_dir = Path(backbone), Path(out_dir)
    resume_dir = None if resume_dir is None else Path(resume_dir)
    if not (backbone / "config.json").is_file():
        raise FileNotFoundError(f"backbone {backbone}: no config.json")
    if opts.lr <= 0 or opts.weight_decay < 0 or opts.max_grad_norm < 0:
        raise ValueError(
            f"lr must be > 0, weight_decay and max_grad_norm >= 0, got {opts.lr}, "
            f"{opts.weight_decay} and {opts.max_grad_norm}"
        )
    if opts.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {opts.precision!r}")
    if min(opts.save_every_steps, opts.log_every_steps) < 1:
        raise ValueError(
            f"save_every_steps and log_every_steps must be >= 1, got {opts.save_every_steps} "
            f"and {opts.log_every_steps}"
        )
    if opts.lora is not None and (mask is not None or opts.deepspeed_config is not None):
        raise ValueError(
            "lora trains adapters on the whole model (several processes: DDP replicas): "
            "it takes neither a mask nor a deepspeed_config"
        )
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = opts.deepspeed_config is not None or opts.optimizer_state == "sparse"
    if world_size > 1 and not distributed and opts.lora is None:
        raise ValueError(
            f"{world_size} processes (WORLD_SIZE) train a full model only under DeepSpeed "
            "or with the sparse optimizer state: give a deepspeed_config or "
            "optimizer_state='sparse' (or lora, whose replicas DDP joins)"
        )
    check_optimizer_state(opts, mask)
    check_outputs(out_dir, resume_dir)
    sources = open_corpora(corpora)
    check_positions(backbone, sources[0][0].block_size)
    plan = plan_steps(
        opts.total_tokens,
        opts.batch_tokens,
        opts.micro_batch_size,
        sources[0][0].block_size,
        world_size,
    )
    run = Run(
        backbone=backbone,
        out_dir=out_dir,
        resume_dir=resume_dir,
        sources=sources,
        world_size=world_size,
        plan=plan,
        schedule=lr_factor(opts.lr_schedule, opts.warmup_steps, plan.steps),
        device=resolve_device(device),
        dtypes=stored_dtypes(backbone),
        checkpointing=opts.gradient_checkpointing,
    )
    if opts.deepspeed_config is not None:
        run.deepspeed, in_config = deepspeed_settings(
            opts.deepspeed_config,
            micro_batch_size=opts.micro_batch_size,
            accumulation=plan.accumulation,
            world_size=world_size,
            precision=opts.precision,
            max_grad_norm=opts.max_grad_norm,
        )
        run.checkpointing = run.checkpointing or in_config
        if (
            opts.precision == "bf16"
            and mask is not None
            and set(run.dtypes.values()) != {torch.bfloat16}
        ):
            raise ValueError(
                f"backbone {backbone} is not stored in bf16: DeepSpeed bf16 "
                "training would round the entries outside the mask; use "
                "precision='fp32'"
            )
    return run


def check_optimizer_state(opts: Options, mask) -> None:
    """The sparse optimizer state is a way to train a mask, in place of DeepSpeed."""
    if opts.optimizer_state not in OPTIMIZER_STATES:
        raise ValueError(
            f"optimizer_state must be one of {OPTIMIZER_STATES}, got {opts.optimizer_state!r}"
        )
    if opts.optimizer_state == "sparse" and (
        mask is None or opts.deepspeed_config is not None or opts.lora is not None
    ):
        raise ValueError(
            "optimizer_state='sparse' keeps state for the entries of a mask: it needs a mask, "
            "and takes neither a deepspeed_config (it replaces DeepSpeed) nor lora"
        )


# DeepSpeed settings that follow the micro-batch size, which a resumed run may change.
MICRO_BATCH_KEYS = ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps")


def identify(opts: Options, run: Run, mask) -> None:
    """Step 2: the mask, the run's identity (backbone, mask, arguments) and the saved
    state of this same run to resume from, if any. How often the state is saved or progress
    logged, and the micro-batch size, are not part of it: they change how each step is
    computed (a micro-batch size the order of a gradient's sums), not which examples a step
    sees or what it computes, so a job restarted with others resumes. The sparse optimizer
    state reads the mask as positions per tensor, never one byte per entry."""
    run.mask_source = str(mask) if mask is not None and not isinstance(mask, Mapping) else "dict"
    sparse = opts.optimizer_state == "sparse"
    run.mask = load_mask_indices(mask) if sparse else load_mask(mask)
    run.identity = {
        "backbone": backbone_fingerprint(run.backbone),
        "mask": mask_fingerprint(run.mask),
        "args": {
            "corpora": [[str(b.prefix), w, corpus_fingerprint(b)] for b, w in run.sources],
            "lr": opts.lr,
            "total_tokens": opts.total_tokens,
            "batch_tokens": opts.batch_tokens,
            "seed": opts.seed,
            "warmup_steps": opts.warmup_steps,
            "lr_schedule": opts.lr_schedule,
            "weight_decay": opts.weight_decay,
            "max_grad_norm": opts.max_grad_norm,
            "precision": opts.precision,
            "deepspeed": None
            if run.deepspeed is None
            else {k: v for k, v in run.deepspeed.items() if k not in MICRO_BATCH_KEYS},
            "world_size": run.world_size,
            "lora": None if opts.lora is None else dict(opts.lora),
            "optimizer_state": opts.optimizer_state,
        },
    }
    run.state_dir = find_state(run.resume_dir, run.identity)
