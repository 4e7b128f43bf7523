"""`train()`: one training run, in named steps.

1. `setup.validate`: the arguments, the outputs, the corpora, the step plan, the device and
   the DeepSpeed config, all checked before anything is loaded;
2. `setup.identify`: the mask, the run's identity, and a saved state to resume from;
3. `_build_backend` and `_start`: the model, the trainable entries, the optimizer and the
   backend, with the saved state restored;
4. `_loop`: the optimizer steps, with progress lines and resume states;
5. `_summary` and `_save`: `training.json` and the model directory.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from maec.data.tokens import mixture_batches
from maec.io.atomic import atomic_directory, publish, remove, temporary_sibling
from maec.io.hf_dir import copy_model_files
from maec.training.backends import (
    DeepSpeedBackend,
    PlainBackend,
    ReplicatedBackend,
    init_distributed,
    init_process_group,
    load_partitioned,
)
from maec.training.masters import FP32_MASTER_DIR, write_fp32_masters
from maec.training.optimizer import make_optimizer
from maec.training.resume import save_state, saved_step
from maec.training.setup import Options, Run, identify, validate
from maec.training.sparse import (
    SparseBackend,
    SparseMaskedState,
    check_mask_indices,
    join_processes,
    weights_dtype,
    widen_outside_linear_layers,
)
from maec.training.trainable import (
    check_mask,
    confine_to_mask,
    lora_counts,
    parameter_shapes,
    with_lora_adapters,
)

log = logging.getLogger(__package__)  # "maec.training", the logger that log_path receives


def _check_vocabulary(sources, vocab_size: int, backbone: Path) -> None:
    for blocks, _ in sources:
        corpus_vocab = blocks.meta.get("vocab_size")
        if corpus_vocab is not None and corpus_vocab > vocab_size:
            raise ValueError(
                f"corpus {blocks.prefix} was tokenized with {corpus_vocab} token "
                f"ids, the backbone {backbone} has vocab_size {vocab_size}"
            )


@contextmanager
def _log_file(log_path):
    """The run's log lines also go to `log_path` (when given) while the run lasts."""
    if log_path is None:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.close()


def _load_model(run: Run, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(run.backbone, dtype=dtype)
    _check_vocabulary(run.sources, model.config.vocab_size, run.backbone)
    return model


def _build_sparse_backend(opts: Options, run: Run):
    """Step 3 with the sparse optimizer state: the weights in their training dtype, state
    for the mask's entries only. Returns (backend, entry counts)."""
    rank, world_size, run.device = join_processes(run.device)
    model = _load_model(run, weights_dtype(opts.precision, run.dtypes))
    widen_outside_linear_layers(model)
    check_mask_indices(run.mask, parameter_shapes(model), run.mask_source)
    model.to(run.device)
    model.train()
    if run.checkpointing:
        model.activation_checkpointing_enable()
    state = SparseMaskedState(
        model, run.mask, lr=opts.lr, weight_decay=opts.weight_decay, world_size=world_size
    )
    backend = SparseBackend(
        model,
        state,
        run.schedule,
        opts.max_grad_norm,
        opts.micro_batch_size,
        opts.precision,
        run.device,
        rank,
    )
    total = sum(p.numel() for p in model.parameters())
    counts = {
        "trainable": state.entries,
        "total": total,
        "density": state.entries / total,
        "trainable_tensors": len(state.tensors),
    }
    return backend, counts


def _build_backend(opts: Options, run: Run):
    """Step 3: the model on its device, its trainable entries, the optimizer and the
    backend around them. Returns (backend, entry counts)."""
    torch.manual_seed(opts.seed)
    if opts.optimizer_state == "sparse":
        return _build_sparse_backend(opts, run)
    distributed = run.deepspeed is not None
    replicated = not distributed and run.world_size > 1
    # DeepSpeed keeps float32 master weights itself; LoRA's backbone is frozen, so it needs
    # none: both load bf16. The plain loop's float32 parameters are its master weights.
    bf16_weights = distributed or opts.lora is not None
    load_dtype = torch.bfloat16 if bf16_weights and opts.precision == "bf16" else torch.float32
    partitioned = distributed and run.deepspeed.get("zero_optimization", {}).get("stage") == 3
    if distributed:
        init_distributed()  # before loading: ZeRO-3 partitions the model as it is built
        from deepspeed.accelerator import get_accelerator

        run.device = torch.device(get_accelerator().current_device_name())
    elif replicated:
        run.device = init_process_group(run.device)
    if partitioned:
        model = load_partitioned(run.backbone, run.deepspeed, load_dtype)
        _check_vocabulary(run.sources, model.config.vocab_size, run.backbone)
    else:
        model = _load_model(run, load_dtype)
        model.to(run.device)
    if run.mask is not None:
        check_mask(run.mask, parameter_shapes(model), run.mask_source)
    model.train()
    if run.checkpointing and not distributed:
        model.activation_checkpointing_enable()
    if opts.lora is not None:
        model = with_lora_adapters(model, opts.lora)
        counts = lora_counts(model)
    else:
        counts = confine_to_mask(model, run.mask, run.device)
    optimizer = make_optimizer(
        [p for p in model.parameters() if p.requires_grad],
        opts.lr,
        opts.weight_decay,
        masked=run.mask is not None,
    )
    if distributed:
        backend = DeepSpeedBackend(model, optimizer, run.schedule, run.deepspeed, run.checkpointing)
    else:
        backend = (ReplicatedBackend if replicated else PlainBackend)(
            model,
            optimizer,
            run.schedule,
            opts.max_grad_norm,
            opts.micro_batch_size,
            opts.precision,
            run.device,
        )
    return backend, counts


def _engine_note(opts: Options) -> str:
    if opts.deepspeed_config is not None:
        return f", DeepSpeed {opts.deepspeed_config}"
    return ", sparse optimizer state" if opts.optimizer_state == "sparse" else ""


def _start(opts: Options, run: Run, backend, counts: dict) -> int:
    """Restore the saved state found by `identify`, if any, and log the plan; returns the
    step to start from."""
    start_step = 0
    if run.state_dir is not None:
        backend.load_state(run.state_dir)
        start_step = saved_step(run.state_dir)
        log.info("resuming from %s at step %d of %d", run.state_dir, start_step, run.plan.steps)
    log.info(
        "training %s: %d steps of %d tokens (accumulation %d x micro-batch %d x %d "
        "processes), %d of %d entries trainable (density %.4g), device %s, %s%s",
        run.backbone,
        run.plan.steps,
        opts.batch_tokens,
        run.plan.accumulation,
        opts.micro_batch_size,
        run.world_size,
        counts["trainable"],
        counts["total"],
        counts["density"],
        run.device,
        opts.precision,
        _engine_note(opts),
    )
    return start_step


@dataclass
class LoopResult:
    start_step: int
    final_loss: float
    history: list[dict]
    seconds: float


def _loop(opts: Options, run: Run, backend, start_step: int) -> LoopResult:
    """Step 4: the optimizer steps from `start_step`, a progress line every
    `log_every_steps` steps, the resume state every `save_every_steps`."""
    plan = run.plan
    batches = mixture_batches(run.sources, plan.rows_per_step, opts.seed, start_step)
    history = []
    loss_value = float("nan")
    started = time.perf_counter()
    bar = tqdm(
        total=plan.steps,
        initial=start_step,
        unit="step",
        desc="train",
        disable=backend.rank != 0,
    )
    for step in range(start_step, plan.steps):
        rows = next(batches).chunk(backend.world_size)[backend.rank]
        current_lr = backend.lr
        loss_value = backend.train_step(rows)
        done = step + 1
        bar.update(1)
        if done % opts.log_every_steps == 0 or done in (start_step + 1, plan.steps):
            rate = (done - start_step) * opts.batch_tokens / (time.perf_counter() - started)
            history.append(
                {"step": done, "loss": loss_value, "lr": current_lr, "tokens_per_s": rate}
            )
            bar.set_postfix(loss=f"{loss_value:.4f}")
            log.info(
                "step %d/%d tokens %d loss %.4f lr %.3e tokens/s %.0f",
                done,
                plan.steps,
                done * opts.batch_tokens,
                loss_value,
                current_lr,
                rate,
            )
        if run.resume_dir is not None and done % opts.save_every_steps == 0 and done < plan.steps:
            save_state(backend, run.resume_dir, done, run.identity)
    bar.close()
    return LoopResult(start_step, loss_value, history, time.perf_counter() - started)


def _summary(opts: Options, run: Run, counts: dict, result: LoopResult) -> dict:
    """Step 5: what `training.json` records."""
    plan = run.plan
    return {
        "backbone": str(run.backbone),
        "corpora": [[str(b.prefix), w] for b, w in run.sources],
        "tokens": plan.steps * opts.batch_tokens,
        "steps": plan.steps,
        "resumed_from_step": result.start_step,
        "final_loss": result.final_loss,
        "tokens_per_s": (plan.steps - result.start_step) * opts.batch_tokens / result.seconds,
        "seconds": result.seconds,
        "lr": opts.lr,
        "mask": run.mask_source if run.mask is not None else None,
        "mask_density": counts["density"],
        "trainable_entries": counts["trainable"],
        "total_entries": counts["total"],
        "trainable_tensors": counts["trainable_tensors"],
        "micro_batch_size": opts.micro_batch_size,
        "gradient_accumulation": plan.accumulation,
        "device": str(run.device),
        "args": run.identity["args"],
        "fp32_masters": FP32_MASTER_DIR if opts.fp32_masters else None,
        "log": result.history,
    }


def save_model(
    model,
    state: dict[str, torch.Tensor],
    backbone: Path,
    out_dir: Path,
    summary: dict,
    fp32_masters: Path | None = None,
) -> None:
    """Write ``state`` (the trained tensors, in the backbone's dtypes) with the backbone's
    config and tokenizer files and ``training.json``, whole or not at all; a finished
    checkpoint ``fp32_masters`` moves in as ``fp32_master/``."""
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp, state_dict=state)
        copy_model_files(backbone, tmp)
        (tmp / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
        if fp32_masters is not None:
            publish(fp32_masters, tmp / FP32_MASTER_DIR)


def _save(opts: Options, run: Run, backend, summary: dict) -> None:
    """Step 5: the float32 masters (when asked) and the model directory, written by process
    0, then the resume state goes."""
    if opts.lora is not None:
        backend.module = backend.module.merge_and_unload()
    masters = None
    if opts.fp32_masters:
        masters = temporary_sibling(run.out_dir, FP32_MASTER_DIR) if backend.rank == 0 else None
        write_fp32_masters(backend, run.dtypes, masters)
    try:
        state = backend.full_state_dict(run.dtypes)
        if backend.rank == 0:
            save_model(backend.module, state, run.backbone, run.out_dir, summary, masters)
            if run.resume_dir is not None:
                shutil.rmtree(run.resume_dir, ignore_errors=True)
            log.info(
                "saved %s (%d tokens, final loss %.4f)",
                run.out_dir,
                summary["tokens"],
                summary["final_loss"],
            )
    finally:
        if masters is not None:
            remove(masters)
    backend.barrier()


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
    log_every_steps: int = 10,
    resume_dir=None,
    log_path=None,
    precision: str = "fp32",
    deepspeed_config=None,
    device=None,
    lora: Mapping | None = None,
    optimizer_state: str = "dense",
    gradient_checkpointing: bool = False,
    fp32_masters: bool = False,
) -> dict:
    """Continual pre-training of ``backbone`` on a weighted mixture of packed corpora.

    ``mask``: None (all entries train), a dict name -> BoolTensor, or a mask file. Writes an
    HF model directory ``out_dir`` (backbone dtypes, config and tokenizer files) with
    ``training.json``; returns the same summary. The keyword arguments that shape the
    result are `maec.training.setup.Options` (documented there); ``save_every_steps``,
    ``log_every_steps`` and ``micro_batch_size`` may differ when a run is resumed from
    ``resume_dir``; ``log_path`` takes the run's log; ``device`` picks the torch device.
    """
    opts = Options(
        lr=lr,
        total_tokens=total_tokens,
        batch_tokens=batch_tokens,
        micro_batch_size=micro_batch_size,
        seed=seed,
        warmup_steps=warmup_steps,
        lr_schedule=lr_schedule,
        weight_decay=weight_decay,
        max_grad_norm=max_grad_norm,
        save_every_steps=save_every_steps,
        log_every_steps=log_every_steps,
        precision=precision,
        deepspeed_config=deepspeed_config,
        lora=lora,
        optimizer_state=optimizer_state,
        gradient_checkpointing=gradient_checkpointing,
        fp32_masters=fp32_masters,
    )
    run = validate(opts, backbone, corpora, out_dir, resume_dir, mask, device)
    identify(opts, run, mask)
    with _log_file(log_path):
        backend, counts = _build_backend(opts, run)
        if backend.rank != 0:
            log.setLevel(logging.WARNING)
        start_step = _start(opts, run, backend, counts)
        result = _loop(opts, run, backend, start_step)
        summary = _summary(opts, run, counts, result)
        _save(opts, run, backend, summary)
        return summary
