"""The step of one process (plain torch), of replicas joined by DDP (LoRA on several
processes) or of a DeepSpeed engine (ZeRO, one or several GPUs), behind one interface:
``train_step``, ``save_state`` / ``load_state``, ``full_state_dict``, ``barrier``."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
from pathlib import Path

import torch


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


def init_distributed() -> None:
    """Environment of a single process when no launcher set it, then DeepSpeed's comms."""
    import deepspeed

    if "WORLD_SIZE" not in os.environ:
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    deepspeed.init_distributed()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_partitioned(backbone: Path, config: dict, dtype: torch.dtype) -> torch.nn.Module:
    """The backbone under ZeRO-3, partitioned as it is built, so that no process holds the
    whole model: with transformers' DeepSpeed integration switched on (`HfDeepSpeedConfig`,
    alive while the model is built) the model is built inside ``deepspeed.zero.Init``; then
    its weights are read in row chunks (`maec.io.reader`) into each gathered parameter on
    process 0, which DeepSpeed partitions again. Every process holds its partition and one
    gathered tensor at a time."""
    import deepspeed
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.integrations import HfDeepSpeedConfig

    from maec.io.reader import open_checkpoint

    integration = HfDeepSpeedConfig(config)  # zero.Init for from_config while it is alive
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(backbone), dtype=dtype)
    del integration
    ckpt = open_checkpoint(backbone)
    parameters = dict(model.named_parameters())
    missing = sorted(set(parameters) - set(ckpt.names))
    if missing:
        raise KeyError(f"backbone {backbone}: no weights for parameter {missing[0]}")
    rank = torch.distributed.get_rank()
    release_host_memory()  # what building the model under zero.Init freed
    for name in ckpt.names:
        param = parameters.get(name)
        if param is None:
            raise KeyError(f"backbone {backbone}: tensor {name} is not a parameter of the model")
        with deepspeed.zero.GatheredParameters([param], modifier_rank=0), torch.no_grad():
            if rank == 0:
                target = param.data.view(ckpt.shape(name))
                for start, chunk in ckpt.iter_rows(name, reuse_buffer=True):
                    (target[start : start + chunk.shape[0]] if chunk.dim() else target).copy_(chunk)
        if param.device.type == "cpu":
            release_host_memory()  # the gathered copy, freed into the heap
    return model


def release_host_memory() -> None:
    """Hand freed heap memory back to the system (glibc's ``malloc_trim``). On the CPU each
    gathered parameter is a host buffer; glibc keeps freed buffers below its (adaptive) mmap
    threshold in the heap, so without this a process's resident set grew past one model copy
    during the partitioned load (docs/benchmarks.md). No-op where glibc is absent."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)


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
        for i, micro in enumerate(micro_batches):
            last = i == len(micro_batches) - 1
            self.begin_micro_batch(last=last)
            total += self._forward_backward(micro, len(micro_batches), last)
        self.optimizer_step()
        self.scheduler.step()
        return self.mean_loss(total, len(micro_batches))

    def begin_micro_batch(self, last: bool) -> None:
        """Nothing to prepare: autograd accumulates the gradients in the parameters."""

    def _forward_backward(self, micro: torch.Tensor, micro_batches: int, last: bool):
        """Loss and gradient of one micro-batch of `micro_batches` (the gradient divided by
        their number)."""
        with torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
        ):
            loss = self.module(input_ids=micro, labels=micro).loss
        (loss / micro_batches).backward()
        return loss.detach().float()

    def optimizer_step(self) -> None:
        if self.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(list(self.trainable.values()), self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def mean_loss(self, total: torch.Tensor, micro_batches: int) -> float:
        return total.item() / micro_batches

    def trainable_values(self) -> dict[str, torch.Tensor]:
        """What a saved state holds of the trained entries."""
        return self.trainable

    def save_state(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(
            {k: v.detach().to("cpu").contiguous() for k, v in self.trainable_values().items()},
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

        self.load_trainable(load_file(directory / "trainable.safetensors"), directory)
        saved = torch.load(directory / "optimizer.pt", map_location="cpu", weights_only=True)
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"]["torch"])
        if "cuda" in saved["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["rng"]["cuda"])

    def load_trainable(self, values: dict[str, torch.Tensor], directory: Path) -> None:
        if set(values) != set(self.trainable):
            raise ValueError(f"resume state {directory}: trainable tensors differ from this run's")
        with torch.no_grad():
            for name, param in self.trainable.items():
                param.copy_(values[name])

    def full_state_dict(self, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor] | None:
        return cast_state_dict(self.module.state_dict().items(), dtypes)

    def barrier(self) -> None:
        pass


def init_process_group(device: torch.device) -> torch.device:
    """Join the processes of a torchrun launch (gloo on the CPU, NCCL on GPUs); returns this
    process's device (its own GPU, by LOCAL_RANK)."""
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


class ReplicatedBackend(PlainBackend):
    """Several processes (torchrun), each with a whole replica of the model, joined by DDP:
    the micro-batches of a step accumulate locally and DDP averages the gradients once per
    step, so every replica takes the same optimizer step. For LoRA, whose adapters are small
    and whose frozen backbone needs no master copy: nothing to shard."""

    def __init__(
        self, model, optimizer, schedule, max_grad_norm, micro_batch_size, precision, device
    ):
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        super().__init__(
            model, optimizer, schedule, max_grad_norm, micro_batch_size, precision, device
        )
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.replica = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    def _forward_backward(self, micro: torch.Tensor, micro_batches: int, last: bool):
        """As one process, run through DDP; gradients are averaged at the last micro-batch."""
        with contextlib.nullcontext() if last else self.replica.no_sync():
            with torch.autocast(
                self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
            ):
                loss = self.replica(input_ids=micro, labels=micro).loss
            (loss / micro_batches).backward()
        return loss.detach().float()

    def mean_loss(self, total: torch.Tensor, micro_batches: int) -> float:
        import torch.distributed as dist

        dist.all_reduce(total)
        return total.item() / (micro_batches * self.world_size)

    def save_state(self, directory: Path) -> None:
        if self.rank == 0:  # the replicas are equal: one copy of the state
            super().save_state(directory)

    def full_state_dict(self, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor] | None:
        """The whole model on rank 0, after checking that every replica holds the same
        tensors bit for bit (a replica that drifted would make the output depend on the rank
        that writes it)."""
        import torch.distributed as dist

        digests = [None] * self.world_size
        dist.all_gather_object(digests, _state_digest(self.module.state_dict(), dtypes))
        if len(set(digests)) > 1:
            raise RuntimeError(
                f"the {self.world_size} replicas hold different weights before saving "
                f"(digests {digests}); DDP kept them apart"
            )
        return super().full_state_dict(dtypes) if self.rank == 0 else None

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()


def _state_digest(state: dict[str, torch.Tensor], names) -> str:
    """SHA-256 of the bytes of the tensors of ``state`` named in ``names``, one at a time."""
    digest = hashlib.sha256()
    for name in sorted(n for n in state if n in names):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


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
            return cast_state_dict(items, dtypes) if self.rank == 0 else None
        state = {}
        for name, param in self.module.named_parameters():
            with deepspeed.zero.GatheredParameters([param]):
                if self.rank == 0:
                    state[name] = param.detach().to("cpu").clone()
        if self.rank != 0:
            return None
        buffers = [(n, b) for n, b in self.module.state_dict().items() if n not in state]
        return cast_state_dict([*state.items(), *buffers], dtypes)

    def barrier(self) -> None:
        import deepspeed.comm as dist

        dist.barrier()


def cast_state_dict(items, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor]:
    """The backbone's tensors (a tied copy that its files do not hold is left out), on the
    CPU, each in its stored dtype."""
    state = {name: t.detach().to("cpu", dtypes[name]) for name, t in items if name in dtypes}
    missing = sorted(set(dtypes) - set(state))
    if missing:
        raise KeyError(f"trained model lacks tensors of the backbone: {', '.join(missing[:5])}")
    return state
