"""(Masked) continual pre-training of a Hugging Face causal LM on packed token blocks.

Masked CPT (METHOD.md step 3) trains only the entries of a key-neuron mask: tensors with
no entry in the mask are frozen (``requires_grad=False``), a gradient hook zeroes the
gradient of the other entries outside the mask, and AdamW's decoupled weight decay acts
only on entries that have had a gradient, so every entry outside the mask keeps its exact
backbone value, in the plain loop and under DeepSpeed ZeRO alike.
Without a mask it is full-parameter CPT (importance CPT, baselines, pretraining).

Master weights are float32; the result is cast back to each tensor's stored dtype, which
is exact for untouched entries. Training state is saved every ``save_every_steps`` steps
into ``resume_dir``, and a restarted run with the same backbone, mask and arguments
continues from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from maec.tokens import TokenBlocks, mixture_batches

log = logging.getLogger(__name__)

LR_SCHEDULES = ("constant", "linear", "cosine")
PRECISIONS = ("fp32", "bf16")
LOG_EVERY_STEPS = 10
# Entries per chunk when weight decay is applied (bounds temporaries on flat partitions).
DECAY_CHUNK = 1 << 24
STATE_PREFIX = "state-"
# Files of a backbone directory that hold weights (everything else is copied to the output).
WEIGHT_FILE = re.compile(r".*\.(safetensors|bin|pt|pth|ckpt|h5|msgpack)$|.*\.index\.json$")
SAFETENSORS_DTYPES = {
    "BF16": torch.bfloat16,
    "F16": torch.float16,
    "F32": torch.float32,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class StepPlan:
    """How ``total_tokens`` are cut into optimizer steps of ``batch_tokens`` tokens."""

    steps: int
    accumulation: int
    rows_per_step: int  # over all processes
    block_size: int


def plan_steps(
    total_tokens: int,
    batch_tokens: int,
    micro_batch_size: int,
    block_size: int,
    world_size: int = 1,
) -> StepPlan:
    """Steps = total_tokens // batch_tokens; gradient accumulation =
    batch_tokens / (micro_batch_size · block_size · world_size)."""
    if min(total_tokens, batch_tokens, micro_batch_size, block_size) < 1:
        raise ValueError(
            "total_tokens, batch_tokens, micro_batch_size and block_size must be "
            f"positive, got {total_tokens}, {batch_tokens}, {micro_batch_size}, "
            f"{block_size}"
        )
    micro_tokens = micro_batch_size * block_size * world_size
    if batch_tokens % micro_tokens:
        processes = f" x processes ({world_size})" if world_size > 1 else ""
        raise ValueError(
            f"batch_tokens ({batch_tokens}) is not a multiple of micro_batch_size "
            f"({micro_batch_size}) x block_size ({block_size}){processes} "
            f"= {micro_tokens}"
        )
    steps = total_tokens // batch_tokens
    if steps == 0:
        raise ValueError(
            f"total_tokens ({total_tokens}) is less than one batch (batch_tokens = {batch_tokens})"
        )
    accumulation = batch_tokens // micro_tokens
    return StepPlan(steps, accumulation, accumulation * micro_batch_size * world_size, block_size)


def lr_factor(schedule: str, warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the peak lr at each step: linear warmup, then constant, linear or
    cosine decay to zero at ``total_steps``."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def resolve_device(device) -> torch.device:
    """``None``: cuda if visible, else cpu. A cuda device with none visible is an error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {str(device)!r} was asked for, but no CUDA GPU is visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
        )
    return device


# --------------------------------------------------------------------------- fingerprints


def _safetensors_header(path: Path) -> bytes:
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        return f.read(length)


def backbone_fingerprint(
    backbone: str | os.PathLike, samples: int = 16, sample_bytes: int = 4096
) -> str:
    """A cheap identity of a checkpoint directory: config, safetensors headers and
    ``samples`` evenly spaced slices of each weight file (not a full content hash)."""
    backbone = Path(backbone)
    digest = hashlib.sha256()
    digest.update((backbone / "config.json").read_bytes())
    for path in sorted(backbone.glob("*.safetensors")):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        digest.update(_safetensors_header(path))
        with open(path, "rb") as f:
            for i in range(samples):
                f.seek(size * i // samples)
                digest.update(f.read(sample_bytes))
    return digest.hexdigest()


def mask_fingerprint(mask: Mapping[str, torch.Tensor] | None) -> str | None:
    """Hash of the mask's tensor names, shapes and bits (``None`` without a mask)."""
    if mask is None:
        return None
    digest = hashlib.sha256()
    for name in sorted(mask):
        bits = mask[name].detach().to("cpu", torch.bool).contiguous()
        digest.update(f"{name}:{tuple(bits.shape)}".encode())
        digest.update(np.packbits(bits.numpy().reshape(-1)).tobytes())
    return digest.hexdigest()


def corpus_fingerprint(blocks: TokenBlocks) -> str:
    digest = hashlib.sha256(json.dumps(blocks.meta, sort_keys=True).encode())
    digest.update(f"{blocks.blocks.shape}:{blocks.blocks.dtype}".encode())
    return digest.hexdigest()


def stored_dtypes(backbone: str | os.PathLike) -> dict[str, torch.dtype]:
    """Dtype of every tensor as stored in the backbone's safetensors files (the output
    holds exactly these tensors, in these dtypes)."""
    dtypes = {}
    for path in sorted(Path(backbone).glob("*.safetensors")):
        header = json.loads(_safetensors_header(path))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in SAFETENSORS_DTYPES:
                raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
            dtypes[name] = SAFETENSORS_DTYPES[info["dtype"]]
    if not dtypes:
        raise FileNotFoundError(f"{backbone}: no tensors in *.safetensors files")
    return dtypes


# --------------------------------------------------------------------------- masks


def load_mask(mask) -> dict[str, torch.Tensor] | None:
    """``None``, a dict name -> BoolTensor, or a mask file read with ``maec.masks.read_mask``."""
    if mask is None or isinstance(mask, Mapping):
        return None if mask is None else dict(mask)
    from maec.masks import read_mask

    return read_mask(mask)


def check_mask(
    mask: Mapping[str, torch.Tensor], parameters: Mapping[str, torch.Tensor], source: str
) -> None:
    """Every mask tensor names a parameter of the model, with its shape, as booleans."""
    for name, bits in mask.items():
        if name not in parameters:
            raise KeyError(f"mask {source}: tensor {name!r} is not a parameter of the backbone")
        if tuple(bits.shape) != tuple(parameters[name].shape):
            raise ValueError(
                f"mask {source}: tensor {name!r} has shape {tuple(bits.shape)}, "
                f"the backbone's is {tuple(parameters[name].shape)}"
            )
        if bits.dtype != torch.bool:
            raise TypeError(f"mask {source}: tensor {name!r} is {bits.dtype}, not torch.bool")
    if not any(bool(bits.any()) for bits in mask.values()):
        raise ValueError(f"mask {source}: selects no entry, nothing to train")


def confine_to_mask(
    model: torch.nn.Module, mask: Mapping[str, torch.Tensor] | None, device: torch.device
) -> dict:
    """Make gradients vanish outside the mask: tensors with no entry in it are frozen
    (``requires_grad=False``, so no optimizer state and no update), and a gradient hook
    zeroes the frozen entries of partly masked tensors before the gradient is accumulated
    (and, under DeepSpeed, before it is reduced and partitioned). Returns entry counts."""
    parameters = dict(model.named_parameters())
    total = sum(p.numel() for p in parameters.values())
    if mask is None:
        return {
            "trainable": total,
            "total": total,
            "density": 1.0,
            "trainable_tensors": len(parameters),
        }
    kept = 0
    for name, param in parameters.items():
        bits = mask.get(name)
        n = int(bits.sum()) if bits is not None else 0
        kept += n
        param.requires_grad_(n > 0)
        if 0 < n < param.numel():
            frozen = (~bits).to(device)
            param.register_hook(lambda grad, frozen=frozen: grad.masked_fill(frozen, 0))
    trainable_tensors = sum(p.requires_grad for p in parameters.values())
    return {
        "trainable": kept,
        "total": total,
        "density": kept / total,
        "trainable_tensors": trainable_tensors,
    }


def with_lora_adapters(model: torch.nn.Module, lora: Mapping) -> torch.nn.Module:
    """Wrap the model with trainable LoRA adapters (peft); its own weights are frozen."""
    from peft import LoraConfig, get_peft_model

    unknown = set(lora) - {"r", "alpha", "dropout", "target_modules"}
    if unknown:
        raise ValueError(f"lora: unknown keys {sorted(unknown)}")
    config = LoraConfig(
        r=int(lora.get("r", 8)),
        lora_alpha=float(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=list(lora.get("target_modules", ["q_proj", "v_proj"])),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def lora_counts(model: torch.nn.Module) -> dict:
    parameters = list(model.parameters())
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    total = sum(p.numel() for p in parameters)
    return {
        "trainable": trainable,
        "total": total,
        "density": trainable / total,
        "trainable_tensors": sum(p.requires_grad for p in parameters),
    }


class GradientGatedAdamW(torch.optim.AdamW):
    """AdamW whose decoupled weight decay acts only on entries that have had a non-zero
    gradient (a non-zero second moment). Entries whose gradient is always zero (outside
    the mask) keep both moments at exactly zero, hence a zero Adam update, and get no
    decay: they never change. The gate needs no mask lookup, so it works as well on the
    flattened partitions that DeepSpeed ZeRO hands to the optimizer."""

    def __init__(self, params, lr: float, weight_decay: float):
        super().__init__(params, lr=lr, weight_decay=0.0)
        self.gated_weight_decay = weight_decay

    @torch.no_grad()
    def step(self, closure=None):
        if self.gated_weight_decay:
            for group in self.param_groups:
                keep = 1.0 - group["lr"] * self.gated_weight_decay
                for p in group["params"]:
                    if p.grad is not None:
                        _decay_where_active(p, p.grad, self.state[p].get("exp_avg_sq"), keep)
        return super().step(closure)


def _decay_where_active(
    param: torch.Tensor, grad: torch.Tensor, second_moment: torch.Tensor | None, keep: float
) -> None:
    """param *= keep where grad or second_moment is non-zero, in chunks (flat ZeRO
    partitions are large). ``torch.where`` leaves the other entries' bits alone; an
    arithmetic form such as p - c·p·0 would turn -0.0 into +0.0."""
    flat_p, flat_g = param.view(-1), grad.reshape(-1)  # parameters are contiguous
    flat_v = None if second_moment is None else second_moment.reshape(-1)
    for start in range(0, flat_p.numel(), DECAY_CHUNK):
        part = slice(start, start + DECAY_CHUNK)
        active = flat_g[part] != 0
        if flat_v is not None:
            active |= flat_v[part] != 0
        flat_p[part] = torch.where(active, flat_p[part] * keep, flat_p[part])


def make_optimizer(
    parameters: list[torch.nn.Parameter], lr: float, weight_decay: float, masked: bool
) -> torch.optim.Optimizer:
    """AdamW; for masked training with weight decay gated by gradient activity."""
    if masked:
        return GradientGatedAdamW(parameters, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)


# --------------------------------------------------------------------------- DeepSpeed


def deepspeed_settings(
    path,
    *,
    micro_batch_size: int,
    accumulation: int,
    world_size: int,
    precision: str,
    max_grad_norm: float = 1.0,
) -> tuple[dict, bool]:
    """The DeepSpeed config of ``path`` with batch sizes, gradient clipping and bf16 filled
    in from train()'s arguments, and whether to use gradient checkpointing (the project key
    ``gradient_checkpointing``, removed from the config). Values given in the file that
    contradict the arguments are an error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DeepSpeed config not found: {path}")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"DeepSpeed config {path}: not valid JSON ({e})") from None
    checkpointing = config.pop("gradient_checkpointing", False)
    if not isinstance(checkpointing, bool):
        raise ValueError(f"DeepSpeed config {path}: gradient_checkpointing must be true or false")
    for section in ("optimizer", "scheduler", "fp16"):
        if section in config:
            raise ValueError(
                f"DeepSpeed config {path}: remove {section!r}; the optimizer "
                "(AdamW), the lr schedule and the precision come from train()"
            )
    derived = {
        "train_micro_batch_size_per_gpu": micro_batch_size,
        "gradient_accumulation_steps": accumulation,
        "train_batch_size": micro_batch_size * accumulation * world_size,
        "gradient_clipping": max_grad_norm,
    }
    for key, value in derived.items():
        given = config.get(key, "auto")
        if given != "auto" and given != value:
            raise ValueError(
                f"DeepSpeed config {path}: {key} = {given} contradicts the "
                f"training arguments, which give {value} (micro_batch_size "
                f"{micro_batch_size}, accumulation {accumulation}, processes "
                f'{world_size}, max_grad_norm {max_grad_norm}); set it to "auto"'
            )
        config[key] = value
    bf16 = config.setdefault("bf16", {})
    wanted = precision == "bf16"
    if bf16.get("enabled", "auto") not in ("auto", wanted):
        raise ValueError(
            f"DeepSpeed config {path}: bf16.enabled = {bf16['enabled']} contradicts "
            f'precision={precision!r}; set it to "auto"'
        )
    bf16["enabled"] = wanted
    stage = config.get("zero_optimization", {}).get("stage", 0)
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"DeepSpeed config {path}: unknown ZeRO stage {stage}")
    config["zero_allow_untested_optimizer"] = True  # a torch AdamW (GradientGatedAdamW)
    return config, checkpointing


def _init_distributed() -> None:
    """Environment of a single process when no launcher set it, then DeepSpeed's comms."""
    import deepspeed

    if "WORLD_SIZE" not in os.environ:
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    deepspeed.init_distributed()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- backends


class PlainBackend:
    """One process: micro-batches, gradient clipping, the optimizer step."""

    rank, world_size = 0, 1

    def __init__(
        self,
        model,
        optimizer,
        schedule,
        max_grad_norm: float,
        micro_batch_size: int,
        precision: str,
        device: torch.device,
    ):
        self.module = model
        self.max_grad_norm = max_grad_norm
        self.trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.optimizer = optimizer
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.micro_batch_size, self.precision, self.device = micro_batch_size, precision, device

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def train_step(self, rows: torch.Tensor) -> float:
        """One optimizer step over ``rows`` in micro-batches; returns the mean loss."""
        micro_batches = rows.to(self.device).split(self.micro_batch_size)
        total = torch.zeros((), device=self.device)
        for micro in micro_batches:
            with torch.autocast(
                self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
            ):
                loss = self.module(input_ids=micro, labels=micro).loss
            (loss / len(micro_batches)).backward()
            total += loss.detach().float()
        if self.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(list(self.trainable.values()), self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return total.item() / len(micro_batches)

    def save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(
            {k: v.detach().to("cpu").contiguous() for k, v in self.trainable.items()},
            directory / "trainable.safetensors",
        )
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": rng,
            },
            directory / "optimizer.pt",
        )

    def load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        values = load_file(directory / "trainable.safetensors")
        if set(values) != set(self.trainable):
            raise ValueError(f"resume state {directory}: trainable tensors differ from this run's")
        with torch.no_grad():
            for name, param in self.trainable.items():
                param.copy_(values[name])
        saved = torch.load(directory / "optimizer.pt", map_location="cpu", weights_only=True)
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"]["torch"])
        if "cuda" in saved["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["rng"]["cuda"])

    def full_state_dict(self, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor] | None:
        return _cast_state_dict(self.module.state_dict().items(), dtypes)

    def barrier(self) -> None:
        pass


class DeepSpeedBackend:
    """A DeepSpeed engine (ZeRO stage, clipping and bf16 from the config) around the same
    optimizer; DeepSpeed accumulates, clips and steps."""

    def __init__(self, model, optimizer, schedule, config: dict, checkpointing: bool):
        import deepspeed

        if checkpointing:
            model.activation_checkpointing_enable()
        trainable = [p for p in model.parameters() if p.requires_grad]
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        self.engine, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model,
            model_parameters=trainable,
            optimizer=optimizer,
            lr_scheduler=scheduler,
            config=config,
        )
        self.module = self.engine.module
        self.zero_stage = self.engine.zero_optimization_stage()
        self.rank = self.engine.global_rank
        self.world_size = self.engine.world_size
        self.micro_batch_size = config["train_micro_batch_size_per_gpu"]

    @property
    def lr(self) -> float:
        return self.engine.get_lr()[0]

    def train_step(self, rows: torch.Tensor) -> float:
        """Micro-batches of this process' ``rows``; DeepSpeed steps at the last one."""
        import deepspeed.comm as dist

        total = torch.zeros((), device=self.engine.device)
        micro_batches = rows.to(self.engine.device).split(self.micro_batch_size)
        for micro in micro_batches:
            loss = self.engine(input_ids=micro, labels=micro).loss
            self.engine.backward(loss)
            self.engine.step()
            total += loss.detach().float()
        if self.world_size > 1:
            dist.all_reduce(total)
        return total.item() / (len(micro_batches) * self.world_size)

    def save_state(self, directory: Path) -> None:
        self.engine.save_checkpoint(str(directory), tag="deepspeed")

    def load_state(self, directory: Path) -> None:
        path, _ = self.engine.load_checkpoint(str(directory), tag="deepspeed")
        if path is None:
            raise ValueError(f"resume state {directory}: DeepSpeed could not load it")

    def full_state_dict(self, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor] | None:
        """The whole model on rank 0 (gathered tensor by tensor under ZeRO-3), else None."""
        import deepspeed

        if self.zero_stage < 3:
            items = self.module.state_dict().items() if self.rank == 0 else []
            return _cast_state_dict(items, dtypes) if self.rank == 0 else None
        state = {}
        for name, param in self.module.named_parameters():
            with deepspeed.zero.GatheredParameters([param]):
                if self.rank == 0:
                    state[name] = param.detach().to("cpu").clone()
        if self.rank != 0:
            return None
        buffers = [(n, b) for n, b in self.module.state_dict().items() if n not in state]
        return _cast_state_dict([*state.items(), *buffers], dtypes)

    def barrier(self) -> None:
        import deepspeed.comm as dist

        dist.barrier()


def _cast_state_dict(items, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor]:
    """The backbone's tensors (a tied copy that its files do not hold is left out), on the
    CPU, each in its stored dtype."""
    state = {name: t.detach().to("cpu", dtypes[name]) for name, t in items if name in dtypes}
    missing = sorted(set(dtypes) - set(state))
    if missing:
        raise KeyError(f"trained model lacks tensors of the backbone: {', '.join(missing[:5])}")
    return state


# --------------------------------------------------------------------------- resume state


def _latest_state(resume_dir: Path) -> Path | None:
    states = sorted(p for p in resume_dir.glob(f"{STATE_PREFIX}*") if p.is_dir())
    return states[-1] if states else None


def save_state(backend, resume_dir: Path, step: int, identity: dict) -> None:
    """Write the state after ``step`` steps to ``resume_dir/state-{step}``: every process
    writes into a temporary directory, which process 0 renames when all have finished,
    then removes older states."""
    tmp = resume_dir / f".tmp-{step:09d}"
    if backend.rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    backend.barrier()
    backend.save_state(tmp)
    backend.barrier()
    if backend.rank == 0:
        (tmp / "state.json").write_text(json.dumps({"step": step, **identity}, indent=2))
        final = resume_dir / f"{STATE_PREFIX}{step:09d}"
        os.rename(tmp, final)
        for old in resume_dir.glob(f"{STATE_PREFIX}*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
    backend.barrier()


def find_state(resume_dir: Path | None, identity: dict) -> Path | None:
    """The latest saved state in ``resume_dir``, checked against this run's identity
    (backbone, mask and training arguments); a state of another run is an error."""
    if resume_dir is None or not resume_dir.is_dir():
        return None
    state = _latest_state(resume_dir)
    if state is None:
        return None
    recorded = json.loads((state / "state.json").read_text())
    differing = [key for key in identity if recorded.get(key) != identity[key]]
    if differing:
        raise ValueError(
            f"resume_dir {resume_dir} holds the state of another run "
            f"(differs in: {', '.join(differing)}); remove it to start afresh "
            "or restore the original backbone, mask and arguments"
        )
    return state


# --------------------------------------------------------------------------- output


def _check_outputs(out_dir: Path, resume_dir: Path | None) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"out_dir {out_dir} already exists and is not empty")
    if resume_dir is not None:
        out, res = out_dir.resolve(), resume_dir.resolve()
        if res == out or out in res.parents:
            raise ValueError(
                f"resume_dir {resume_dir} must not be inside out_dir {out_dir} "
                "(outputs of failed jobs are deleted)"
            )


def save_model(
    model, state: dict[str, torch.Tensor], backbone: Path, out_dir: Path, summary: dict
) -> None:
    """Write ``state`` (the trained tensors, in the backbone's dtypes) with the backbone's
    config and tokenizer files and ``training.json`` to a temporary directory, renamed to
    ``out_dir`` when complete."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        model.save_pretrained(tmp, state_dict=state)
        for path in backbone.iterdir():
            if path.is_file() and not WEIGHT_FILE.fullmatch(path.name):
                shutil.copy2(path, tmp / path.name)
        (tmp / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked before training
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- training


def _open_corpora(corpora: list[tuple[str, float]]) -> list[tuple[TokenBlocks, float]]:
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


def _check_vocabulary(sources, vocab_size: int, backbone: Path) -> None:
    for blocks, _ in sources:
        corpus_vocab = blocks.meta.get("vocab_size")
        if corpus_vocab is not None and corpus_vocab > vocab_size:
            raise ValueError(
                f"corpus {blocks.prefix} was tokenized with {corpus_vocab} token "
                f"ids, the backbone {backbone} has vocab_size {vocab_size}"
            )


def _attach_log_file(log_path) -> logging.Handler | None:
    if log_path is None:
        return None
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    return handler


def train(
    backbone,
    corpora: list[tuple[str, float]],
    out_dir,
    *,
    mask=None,
    lr: float,
    total_tokens: int,
    batch_tokens: int,
    micro_batch_size: int,
    seed: int = 0,
    warmup_steps: int = 0,
    lr_schedule: str = "constant",
    weight_decay: float = 0.0,
    max_grad_norm: float = 1.0,
    save_every_steps: int = 100,
    resume_dir=None,
    log_path=None,
    precision: str = "fp32",
    deepspeed_config=None,
    device=None,
    lora: Mapping | None = None,
) -> dict:
    """Continual pre-training of ``backbone`` on a weighted mixture of packed corpora.

    ``mask``: None (all entries train), a dict name -> BoolTensor, or a mask file.
    ``max_grad_norm``: gradients are clipped to this global norm (0: no clipping), as
    DeepSpeed and the ``transformers`` Trainer do by default.
    ``deepspeed_config``: None (one process, torch AdamW) or a DeepSpeed JSON (ZeRO), run
    by every process of a ``deepspeed``/``torchrun`` launch or alone. Writes an HF model
    directory ``out_dir`` (backbone dtypes, config and tokenizer files) with
    ``training.json``; returns the same summary.
    ``lora``: train low-rank adapters instead (keys ``r``, ``alpha``, ``dropout``,
    ``target_modules``), merged into the weights when saving (the L-CPT baselines).
    """
    backbone, out_dir = Path(backbone), Path(out_dir)
    resume_dir = None if resume_dir is None else Path(resume_dir)
    if not (backbone / "config.json").is_file():
        raise FileNotFoundError(f"backbone {backbone}: no config.json")
    if lr <= 0 or weight_decay < 0 or max_grad_norm < 0:
        raise ValueError(
            f"lr must be > 0, weight_decay and max_grad_norm >= 0, got {lr}, "
            f"{weight_decay} and {max_grad_norm}"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if save_every_steps < 1:
        raise ValueError(f"save_every_steps must be >= 1, got {save_every_steps}")
    if lora is not None and (mask is not None or deepspeed_config is not None):
        raise ValueError(
            "lora trains adapters on the whole model in one process: it takes "
            "neither a mask nor a deepspeed_config"
        )
    _check_outputs(out_dir, resume_dir)
    sources = _open_corpora(corpora)
    world_size = int(os.environ.get("WORLD_SIZE", "1")) if deepspeed_config is not None else 1
    plan = plan_steps(
        total_tokens, batch_tokens, micro_batch_size, sources[0][0].block_size, world_size
    )
    schedule = lr_factor(lr_schedule, warmup_steps, plan.steps)
    device = resolve_device(device)
    dtypes = stored_dtypes(backbone)
    if deepspeed_config is not None:
        ds_config, checkpointing = deepspeed_settings(
            deepspeed_config,
            micro_batch_size=micro_batch_size,
            accumulation=plan.accumulation,
            world_size=world_size,
            precision=precision,
            max_grad_norm=max_grad_norm,
        )
        if precision == "bf16" and mask is not None and set(dtypes.values()) != {torch.bfloat16}:
            raise ValueError(
                f"backbone {backbone} is not stored in bf16: DeepSpeed bf16 "
                "training would round the entries outside the mask; use "
                "precision='fp32'"
            )

    mask_source = str(mask) if mask is not None and not isinstance(mask, Mapping) else "dict"
    mask = load_mask(mask)
    identity = {
        "backbone": backbone_fingerprint(backbone),
        "mask": mask_fingerprint(mask),
        "args": {
            "corpora": [[str(b.prefix), w, corpus_fingerprint(b)] for b, w in sources],
            "lr": lr,
            "total_tokens": total_tokens,
            "batch_tokens": batch_tokens,
            "micro_batch_size": micro_batch_size,
            "seed": seed,
            "warmup_steps": warmup_steps,
            "lr_schedule": lr_schedule,
            "weight_decay": weight_decay,
            "max_grad_norm": max_grad_norm,
            "precision": precision,
            "deepspeed": None if deepspeed_config is None else ds_config,
            "world_size": world_size,
            "lora": None if lora is None else dict(lora),
        },
    }
    state_dir = find_state(resume_dir, identity)

    from transformers import AutoModelForCausalLM

    handler = _attach_log_file(log_path)
    try:
        torch.manual_seed(seed)
        load_dtype = (
            torch.bfloat16
            if deepspeed_config is not None and precision == "bf16"
            else torch.float32
        )
        model = AutoModelForCausalLM.from_pretrained(backbone, dtype=load_dtype)
        _check_vocabulary(sources, model.config.vocab_size, backbone)
        if mask is not None:
            check_mask(mask, dict(model.named_parameters()), mask_source)
        if deepspeed_config is None:
            model.to(device)
        else:
            _init_distributed()
            from deepspeed.accelerator import get_accelerator

            device = torch.device(get_accelerator().current_device_name())
            model.to(device)
        model.train()
        if lora is not None:
            model = with_lora_adapters(model, lora)
            counts = lora_counts(model)
        else:
            counts = confine_to_mask(model, mask, device)
        optimizer = make_optimizer(
            [p for p in model.parameters() if p.requires_grad],
            lr,
            weight_decay,
            masked=mask is not None,
        )
        if deepspeed_config is None:
            backend = PlainBackend(
                model, optimizer, schedule, max_grad_norm, micro_batch_size, precision, device
            )
        else:
            backend = DeepSpeedBackend(model, optimizer, schedule, ds_config, checkpointing)
        main = backend.rank == 0
        if not main:
            log.setLevel(logging.WARNING)

        start_step = 0
        if state_dir is not None:
            backend.load_state(state_dir)
            start_step = json.loads((state_dir / "state.json").read_text())["step"]
            log.info("resuming from %s at step %d of %d", state_dir, start_step, plan.steps)
        log.info(
            "training %s: %d steps of %d tokens (accumulation %d x micro-batch %d x %d "
            "processes), %d of %d entries trainable (density %.4g), device %s, %s%s",
            backbone,
            plan.steps,
            batch_tokens,
            plan.accumulation,
            micro_batch_size,
            world_size,
            counts["trainable"],
            counts["total"],
            counts["density"],
            device,
            precision,
            "" if deepspeed_config is None else f", DeepSpeed {deepspeed_config}",
        )

        batches = mixture_batches(sources, plan.rows_per_step, seed, start_step)
        history = []
        loss_value = float("nan")
        started = time.perf_counter()
        bar = tqdm(
            total=plan.steps, initial=start_step, unit="step", desc="train", disable=not main
        )
        for step in range(start_step, plan.steps):
            rows = next(batches).chunk(backend.world_size)[backend.rank]
            current_lr = backend.lr
            loss_value = backend.train_step(rows)
            done = step + 1
            bar.update(1)
            if done % LOG_EVERY_STEPS == 0 or done in (start_step + 1, plan.steps):
                rate = (done - start_step) * batch_tokens / (time.perf_counter() - started)
                history.append(
                    {"step": done, "loss": loss_value, "lr": current_lr, "tokens_per_s": rate}
                )
                bar.set_postfix(loss=f"{loss_value:.4f}")
                log.info(
                    "step %d/%d tokens %d loss %.4f lr %.3e tokens/s %.0f",
                    done,
                    plan.steps,
                    done * batch_tokens,
                    loss_value,
                    current_lr,
                    rate,
                )
            if resume_dir is not None and done % save_every_steps == 0 and done < plan.steps:
                save_state(backend, resume_dir, done, identity)
        bar.close()
        elapsed = time.perf_counter() - started
        summary = {
            "backbone": str(backbone),
            "corpora": [[str(b.prefix), w] for b, w in sources],
            "tokens": plan.steps * batch_tokens,
            "steps": plan.steps,
            "resumed_from_step": start_step,
            "final_loss": loss_value,
            "tokens_per_s": (plan.steps - start_step) * batch_tokens / elapsed,
            "seconds": elapsed,
            "lr": lr,
            "mask": mask_source if mask is not None else None,
            "mask_density": counts["density"],
            "trainable_entries": counts["trainable"],
            "total_entries": counts["total"],
            "trainable_tensors": counts["trainable_tensors"],
            "gradient_accumulation": plan.accumulation,
            "device": str(device),
            "args": identity["args"],
            "log": history,
        }
        if lora is not None:
            backend.module = backend.module.merge_and_unload()
        state = backend.full_state_dict(dtypes)
        if main:
            save_model(backend.module, state, backbone, out_dir, summary)
            if resume_dir is not None:
                shutil.rmtree(resume_dir, ignore_errors=True)
            log.info(
                "saved %s (%d tokens, final loss %.4f)", out_dir, summary["tokens"], loss_value
            )
        backend.barrier()
        return summary
    finally:
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
