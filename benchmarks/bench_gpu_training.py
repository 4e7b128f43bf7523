"""Benchmark of masked continual pre-training on one GPU: unmasked, masked with dense
optimizer state, and masked with the sparse optimizer state.

Builds a randomly initialised model with the shape of Qwen2.5-0.5B, LLaMA-3.2-1B or
LLaMA-3-8B (from a config, nothing downloaded) and trains it on random token ids with the
project's own training steps, same micro-batch, sequence length and data for every run:

- ``unmasked``: ``PlainBackend`` (float32 master weights, bf16 autocast, AdamW, clipping);
- ``masked``: the same restricted to a random mask holding 5 % of the entries of every
  parameter tensor (``confine_to_mask`` + ``GradientGatedAdamW``: dense optimizer state);
- ``sparse``: the same mask as positions, ``SparseMaskedState`` + ``SparseBackend``
  (``optimizer_state="sparse"``: bf16 linear-layer weights, float32 master values and AdamW
  moments of the masked entries only);
- ``gradients``: forward and backward with bf16 weights, every gradient computed and
  dropped, no optimizer: the floor of any training step, and the reference where an
  unmasked run does not fit one GPU (LLaMA-3-8B: about 16 bytes per parameter).

Reports per run the median step time, tokens/s, model FLOPs utilisation, peak GPU memory,
and the step-time ratios masked/unmasked, sparse/unmasked and sparse/gradients; after each
masked run it checks that entries outside the mask are bit-identical to their initial
values in a sample of tensors. Prints a table and writes every number to ``--out`` (JSON,
rewritten after each run).

    PYTHONPATH=src python3 benchmarks/bench_gpu_training.py --model llama-3-8b \
        --out bench-out/gpu_bench_8b.json
    PYTHONPATH=src python3 benchmarks/bench_gpu_training.py --model qwen2.5-0.5b \
        --out bench-out/gpu_bench.json
    .venv/bin/python benchmarks/bench_gpu_training.py --device cpu --tiny \
        --out bench-out/gpu_bench_tiny.json
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from maec.io.atomic import write_text  # noqa: E402
from maec.keyneurons.masks import MaskIndex, index_dtype  # noqa: E402
from maec.training.backends import PlainBackend  # noqa: E402
from maec.training.device import resolve_device  # noqa: E402
from maec.training.optimizer import make_optimizer  # noqa: E402
from maec.training.plan import PRECISIONS, lr_factor  # noqa: E402
from maec.training.sparse import (  # noqa: E402
    SparseBackend,
    SparseMaskedState,
    widen_outside_linear_layers,
)
from maec.training.trainable import check_mask, confine_to_mask, parameter_shapes  # noqa: E402

# Published shapes (config.json of the Hugging Face checkpoints); weights are random.
MODEL_SHAPES = {
    "qwen2.5-0.5b": (
        "Qwen2Config",
        dict(
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            vocab_size=151936,
            tie_word_embeddings=True,
            max_position_embeddings=32768,
        ),
    ),
    "llama-3.2-1b": (
        "LlamaConfig",
        dict(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=128256,
            tie_word_embeddings=True,
            max_position_embeddings=131072,
        ),
    ),
    "llama-3-8b": (
        "LlamaConfig",
        dict(
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=128256,
            tie_word_embeddings=False,
            max_position_embeddings=8192,
            rope_theta=500000.0,
        ),
    ),
}
RUNS = ("unmasked", "masked", "sparse", "gradients")
# What fits one 80 GB GPU: LLaMA-3-8B trains only with the sparse state (a dense state is
# about 16 bytes per parameter), with activation checkpointing and 2 x 4096 tokens a step.
MODEL_DEFAULTS = {
    "llama-3-8b": dict(
        runs=["gradients", "sparse"], micro_batch=2, seq_len=4096, gradient_checkpointing=True
    ),
}
TINY_SHAPE = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=512,
    tie_word_embeddings=True,
    max_position_embeddings=256,
)
# Defaults of the full run (H100, a few minutes) and of --tiny (CPU, seconds).
RUN_DEFAULTS = {
    False: dict(steps=300, warmup=10, micro_batch=8, seq_len=2048, max_seconds=120.0),
    True: dict(steps=3, warmup=1, micro_batch=2, seq_len=32, max_seconds=60.0),
}
H100_SXM_BF16_DENSE_TFLOPS = 989.0
TARGET_MASKED_RATIO = 1.05  # masking costs under 5 % step time
TARGET_MFU = 0.35  # unmasked run
TARGET_8B_PEAK_BYTES = 60 * 10**9  # the sparse run of LLaMA-3-8B, with checkpointing


# --------------------------------------------------------------------------- model


def model_config(model: str, tiny: bool):
    import transformers

    class_name, shape = MODEL_SHAPES[model]
    return getattr(transformers, class_name)(**(TINY_SHAPE if tiny else shape))


def build_model(config, seed: int) -> torch.nn.Module:
    """Random float32 weights (the master weights of PlainBackend), the same for a seed."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32)


def random_mask(model: torch.nn.Module, density: float, seed: int) -> dict[str, torch.Tensor]:
    """name -> BoolTensor (on the CPU, as a mask file is read), each entry kept with
    probability ``density``."""
    generator = torch.Generator().manual_seed(seed)
    return {
        name: torch.rand(param.shape, generator=generator) < density
        for name, param in model.named_parameters()
    }


# --------------------------------------------------------------------------- FLOPs


def matmul_parameters(model: torch.nn.Module) -> int:
    """Entries of the weight matrices that multiply activations: every 2-D parameter, the
    input embedding (a lookup) only where it is tied to the output projection (which is a
    product). Norm weights and biases (1-D) are left out."""
    count = sum(p.numel() for p in model.parameters() if p.dim() >= 2)
    if not model.config.tie_word_embeddings:
        count -= model.get_input_embeddings().weight.numel()
    return count


def model_flops_per_token(config, matmul_params: int, seq_len: int) -> dict[str, int]:
    """Training FLOPs per token (forward + backward): 6·N for the weight products and
    12·layers·(heads·head_dim)·seq for the attention scores and their weighted sum (the
    PaLM convention, full rather than causal attention)."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    attention = 12 * config.num_hidden_layers * config.num_attention_heads * head_dim * seq_len
    return {
        "dense": 6 * matmul_params,
        "attention": attention,
        "total": 6 * matmul_params + attention,
    }


# --------------------------------------------------------------------------- invariant


def entries_changed(current: torch.Tensor, initial: torch.Tensor, where: torch.Tensor) -> int:
    """Entries selected by ``where`` whose bits differ (so -0.0 vs 0.0 counts as a change)."""
    as_int = {2: torch.int16, 4: torch.int32, 8: torch.int64}[current.element_size()]
    return int(((current.view(as_int) != initial.view(as_int)) & where).sum())


def sample_names(names: list[str], count: int) -> list[str]:
    """``count`` names evenly spaced over ``names``, first (embedding) and last included."""
    if count >= len(names):
        return list(names)
    return sorted(
        {names[round(i * (len(names) - 1) / (count - 1))] for i in range(count)}, key=names.index
    )


# --------------------------------------------------------------------------- timing


def timed_steps(
    train_step, next_rows, steps: int, device: torch.device, max_seconds: float, desc: str
) -> tuple[list[float], list[float]]:
    """Seconds and loss of each step (CUDA events on a GPU, else perf_counter); stops early
    once the steps so far took ``max_seconds``."""
    seconds, losses = [], []
    for _ in tqdm(range(steps), desc=desc, unit="step", mininterval=5):
        rows = next_rows()
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            losses.append(train_step(rows))
            end.record()
            end.synchronize()
            seconds.append(start.elapsed_time(end) / 1000)
        else:
            started = time.perf_counter()
            losses.append(train_step(rows))
            seconds.append(time.perf_counter() - started)
        if sum(seconds) > max_seconds:
            break
    return seconds, losses


# --------------------------------------------------------------------------- one run


def random_positions(model: torch.nn.Module, density: float, seed: int) -> dict[str, MaskIndex]:
    """name -> MaskIndex (on the model's device), each entry kept with probability
    ``density``: the sparse run's mask, drawn on the device in chunks (an 8B model's mask
    drawn on the host would take minutes)."""
    out = {}
    for i, (name, param) in enumerate(model.named_parameters()):
        generator = torch.Generator(device=param.device).manual_seed(seed * 100003 + i)
        parts = []
        for start in range(0, param.numel(), 1 << 26):
            size = min(1 << 26, param.numel() - start)
            kept = torch.rand(size, generator=generator, device=param.device) < density
            parts.append(kept.nonzero().reshape(-1).add_(start).to(index_dtype(param.numel())))
        out[name] = MaskIndex(tuple(param.shape), torch.cat(parts))
    return out


def as_booleans(key: MaskIndex) -> torch.Tensor:
    bits = torch.zeros(key.numel, dtype=torch.bool)
    bits[key.index.to("cpu", torch.int64)] = True
    return bits.reshape(key.shape)


def gradients_step(model, micro_batch_size: int, precision: str, device: torch.device):
    """Forward and backward with every gradient computed, then dropped: no optimizer."""

    def train_step(rows: torch.Tensor) -> float:
        micro_batches = rows.to(device).split(micro_batch_size)
        total = torch.zeros((), device=device)
        for micro in micro_batches:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = model(input_ids=micro, labels=micro).loss
            (loss / len(micro_batches)).backward()
            total += loss.detach().float()
        for param in model.parameters():
            param.grad = None
        return total.item() / len(micro_batches)

    return train_step


def build_run(run: str, config, args, device: torch.device):
    """The model of one run on its device, its step and, for the masked runs, the mask (as
    booleans on the CPU or as positions) for the invariant check."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(args.seed)
    if run in ("unmasked", "masked"):  # float32 master weights (PlainBackend)
        model = build_model(config, args.seed)
        mask = random_mask(model, args.density, args.seed + 1) if run == "masked" else None
        if mask is not None:
            check_mask(mask, parameter_shapes(model), "random")
        model.to(device)
    else:  # the training dtype: bf16 linear-layer weights for bf16
        dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        widen_outside_linear_layers(model)
        mask = random_positions(model, args.density, args.seed + 1) if run == "sparse" else None
    model.train()
    if args.gradient_checkpointing:
        model.activation_checkpointing_enable()
    schedule = lr_factor("constant", 0, 1)
    if run == "gradients":
        counts = confine_to_mask(model, None, device)
        return model, gradients_step(model, args.micro_batch, args.precision, device), None, counts
    if run == "sparse":
        state = SparseMaskedState(model, mask, lr=args.lr, weight_decay=args.weight_decay)
        backend = SparseBackend(
            model, state, schedule, args.max_grad_norm, args.micro_batch, args.precision, device
        )
        total = sum(p.numel() for p in model.parameters())
        counts = {
            "trainable": state.entries,
            "total": total,
            "density": state.entries / total,
            "trainable_tensors": len(state.tensors),
        }
        return model, backend.train_step, mask, counts
    counts = confine_to_mask(model, mask, device)
    optimizer = make_optimizer(
        [p for p in model.parameters() if p.requires_grad],
        args.lr,
        args.weight_decay,
        masked=mask is not None,
    )
    backend = PlainBackend(
        model, optimizer, schedule, args.max_grad_norm, args.micro_batch, args.precision, device
    )
    return model, backend.train_step, mask, counts


def bench_run(config, *, run: str, args, device: torch.device) -> dict:
    """Warm-up and timed steps of one run (one of RUNS); for the masked runs, a random mask
    of density ``args.density`` and the invariant check."""
    model, train_step, mask, counts = build_run(run, config, args, device)
    parameters = dict(model.named_parameters())
    checked = sample_names(list(parameters), args.check_tensors) if mask is not None else []
    initial = {name: parameters[name].detach().to("cpu", copy=True) for name in checked}

    generator = torch.Generator(device=device).manual_seed(args.seed)
    rows_shape = (args.micro_batch * args.accumulation, args.seq_len)

    def next_rows():
        return torch.randint(config.vocab_size, rows_shape, generator=generator, device=device)

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    timed_steps(train_step, next_rows, args.warmup, device, float("inf"), f"{run} warm-up")
    seconds, losses = timed_steps(train_step, next_rows, args.steps, device, args.max_seconds, run)

    tokens_per_step = rows_shape[0] * rows_shape[1]
    weights = matmul_parameters(model)
    flops = model_flops_per_token(config, weights, args.seq_len)
    median = statistics.median(seconds)
    result = {
        "matmul_parameters": weights,
        "flops_per_token": flops,
        "steps_timed": len(seconds),
        "warmup_steps": args.warmup,
        "step_time_median_s": median,
        "step_time_mean_s": statistics.fmean(seconds),
        "step_time_min_s": min(seconds),
        "step_time_max_s": max(seconds),
        "tokens_per_step": tokens_per_step,
        "tokens_per_s": tokens_per_step / median,
        "tokens_per_s_overall": tokens_per_step * len(seconds) / sum(seconds),
        "achieved_tflops": flops["total"] * tokens_per_step / median / 1e12,
        "mfu": flops["total"] * tokens_per_step / median / (args.peak_tflops * 1e12),
        "mfu_dense_only": flops["dense"] * tokens_per_step / median / (args.peak_tflops * 1e12),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "counts": counts,
        "step_times_s": seconds,
    }
    if device.type == "cuda":
        result["peak_memory_allocated_bytes"] = torch.cuda.max_memory_allocated()
        result["peak_memory_reserved_bytes"] = torch.cuda.max_memory_reserved()
    if mask is not None:
        booleans = {
            name: as_booleans(mask[name]) if run == "sparse" else mask[name] for name in checked
        }
        result["invariant"] = check_invariant(parameters, initial, booleans)
    return result


def check_invariant(parameters: dict, initial: dict, mask: dict) -> dict:
    """Bit changes outside and inside the mask in the sampled tensors (outside must be 0)."""
    report = {
        "tensors": list(initial),
        "entries_outside": 0,
        "changed_outside": 0,
        "entries_inside": 0,
        "changed_inside": 0,
    }
    for name, before in initial.items():
        after = parameters[name].detach().to("cpu")
        inside = mask[name]
        report["entries_outside"] += int((~inside).sum())
        report["entries_inside"] += int(inside.sum())
        report["changed_outside"] += entries_changed(after, before, ~inside)
        report["changed_inside"] += entries_changed(after, before, inside)
    report["holds"] = report["changed_outside"] == 0
    return report


# --------------------------------------------------------------------------- report


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def write_json(path: Path, data: dict) -> None:
    """Whole file or nothing (``maec.io.atomic``)."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def step_ratio(runs: dict, run: str, reference: str) -> float:
    return runs[run]["step_time_median_s"] / runs[reference]["step_time_median_s"]


def targets(runs: dict, model: str, tiny: bool) -> dict:
    report = {}
    if "masked" in runs and "unmasked" in runs:
        ratio = step_ratio(runs, "masked", "unmasked")
        report["masked_unmasked_step_time_ratio"] = ratio
        report["masking_cost_target_met"] = ratio < TARGET_MASKED_RATIO
    if "sparse" in runs and "unmasked" in runs:
        report["sparse_unmasked_step_time_ratio"] = step_ratio(runs, "sparse", "unmasked")
    if "sparse" in runs and "gradients" in runs:
        report["sparse_gradients_step_time_ratio"] = step_ratio(runs, "sparse", "gradients")
    if "unmasked" in runs:
        report["mfu_target_met"] = runs["unmasked"]["mfu"] > TARGET_MFU
    peak = runs.get("sparse", {}).get("peak_memory_allocated_bytes")
    if model == "llama-3-8b" and not tiny and peak is not None:
        report["sparse_peak_memory_target_met"] = peak <= TARGET_8B_PEAK_BYTES
    for run in ("masked", "sparse"):
        if run in runs:
            report[f"{run}_invariant_holds"] = runs[run]["invariant"]["holds"]
    return report


def table(result: dict) -> str:
    lines = [
        f"{result['model']}{' (tiny)' if result['tiny'] else ''} on {result['device_name']}: "
        f"micro-batch {result['micro_batch']} x {result['seq_len']} tokens x accumulation "
        f"{result['accumulation']}, {result['precision']}, activation checkpointing "
        f"{'on' if result['gradient_checkpointing'] else 'off'}, peak "
        f"{result['peak_tflops']:g} TFLOP/s",
        f"{'run':<9} {'steps':>5} {'median step':>11} {'tokens/s':>10} {'TFLOP/s':>8} "
        f"{'MFU':>6} {'peak mem':>9}",
    ]
    for name, run in result["runs"].items():
        memory = run.get("peak_memory_allocated_bytes")
        lines.append(
            f"{name:<9} {run['steps_timed']:>5} {run['step_time_median_s']:>9.4f} s "
            f"{run['tokens_per_s']:>10,.0f} {run['achieved_tflops']:>8.1f} "
            f"{run['mfu']:>6.1%} "
            f"{'-' if memory is None else f'{memory / 2**30:.2f} GiB':>9}"
        )
    t = result["targets"]
    if result["tiny"] or result["device"] == "cpu":
        lines.append("(the targets are for the full-size model on a GPU)")
    if "masked_unmasked_step_time_ratio" in t:
        lines.append(
            f"masked/unmasked step time {t['masked_unmasked_step_time_ratio']:.4f} "
            f"(target < {TARGET_MASKED_RATIO}): "
            f"{'met' if t['masking_cost_target_met'] else 'NOT met'}"
        )
    for key, label in (
        ("sparse_unmasked_step_time_ratio", "sparse/unmasked"),
        ("sparse_gradients_step_time_ratio", "sparse/gradients"),
    ):
        if key in t:
            lines.append(f"{label} step time {t[key]:.4f}")
    if "mfu_target_met" in t:
        lines.append(
            f"unmasked MFU {result['runs']['unmasked']['mfu']:.1%} "
            f"(target > {TARGET_MFU:.0%}): {'met' if t['mfu_target_met'] else 'NOT met'}"
        )
    if "sparse_peak_memory_target_met" in t:
        peak = result["runs"]["sparse"]["peak_memory_allocated_bytes"]
        lines.append(
            f"sparse peak memory {peak / 1e9:.1f} GB (target <= "
            f"{TARGET_8B_PEAK_BYTES / 1e9:.0f} GB): "
            f"{'met' if t['sparse_peak_memory_target_met'] else 'NOT met'}"
        )
    for run in ("masked", "sparse"):
        if f"{run}_invariant_holds" in t:
            inv = result["runs"][run]["invariant"]
            lines.append(
                f"{run} invariant: {inv['changed_outside']} of {inv['entries_outside']:,} "
                f"entries outside the mask changed in {len(inv['tensors'])} sampled tensors "
                f"({inv['changed_inside']:,} of {inv['entries_inside']:,} inside changed): "
                f"{'holds' if inv['holds'] else 'BROKEN'}"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=sorted(MODEL_SHAPES), default="qwen2.5-0.5b")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a tiny config of the same family, 3 steps (for the CPU test)",
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "gpu_bench.json")
    parser.add_argument("--steps", type=int, help="timed steps per run (300; tiny 3)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (10; tiny 1)")
    parser.add_argument(
        "--micro-batch",
        type=int,
        help="rows per micro-batch (8; tiny 2); halved on a GPU out-of-memory",
    )
    parser.add_argument("--seq-len", type=int, help="tokens per row (2048; tiny 32)")
    parser.add_argument("--accumulation", type=int, default=1, help="micro-batches per step")
    parser.add_argument(
        "--max-seconds",
        type=float,
        help="stop a run's timed steps after this many seconds (120; tiny 60)",
    )
    parser.add_argument("--density", type=float, default=0.05, help="mask density")
    parser.add_argument("--precision", choices=PRECISIONS, default="bf16")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=0.0,
        help="0.0 as config/config.yaml; > 0 also times the gated decay",
    )
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=H100_SXM_BF16_DENSE_TFLOPS,
        help="MFU denominator (H100 SXM bf16 dense: 989)",
    )
    parser.add_argument(
        "--check-tensors", type=int, default=12, help="tensors sampled for the invariant check"
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=RUNS,
        help="(unmasked masked sparse; llama-3-8b: gradients sparse)",
    )
    parser.add_argument(
        "--gradient-checkpointing",
        action=argparse.BooleanOptionalAction,
        help="recompute activations in the backward pass (llama-3-8b: on; others: off)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model_defaults = {} if args.tiny else MODEL_DEFAULTS.get(args.model, {})
    defaults = {"runs": ["unmasked", "masked", "sparse"], "gradient_checkpointing": False}
    for key, value in {**defaults, **RUN_DEFAULTS[args.tiny], **model_defaults}.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.steps, args.micro_batch, args.seq_len, args.accumulation) < 1 or args.warmup < 0:
        parser.error(
            "--steps, --micro-batch, --seq-len and --accumulation must be >= 1, --warmup >= 0"
        )
    if not 0 < args.density <= 1:
        parser.error(f"--density must be in (0, 1], got {args.density}")
    if args.check_tensors < 2:
        parser.error("--check-tensors must be >= 2")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = resolve_device(args.device)
    config = model_config(args.model, args.tiny)
    if args.seq_len > config.max_position_embeddings:
        raise ValueError(
            f"--seq-len {args.seq_len} exceeds the model's "
            f"max_position_embeddings {config.max_position_embeddings}"
        )
    import transformers

    result = {
        "model": args.model,
        "tiny": args.tiny,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "config": {
            k: getattr(config, k)
            for k in (TINY_SHAPE if args.tiny else MODEL_SHAPES[args.model][1])
        },
        "precision": args.precision,
        "gradient_checkpointing": args.gradient_checkpointing,
        "micro_batch_requested": args.micro_batch,
        "seq_len": args.seq_len,
        "accumulation": args.accumulation,
        "density": args.density,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "max_grad_norm": args.max_grad_norm,
        "peak_tflops": args.peak_tflops,
        "flops_formula": "per token: 6 * N (N = entries of 2-D weight matrices, the tied "
        "embedding counted once as the output projection) + 12 * layers * "
        "heads * head_dim * seq_len; MFU = that * tokens per step / median "
        "step time / peak",
        "out_of_memory_at_micro_batch": [],
        "runs": {},
    }
    while True:
        result["micro_batch"] = args.micro_batch
        out_of_memory = False
        try:
            for name in args.runs:
                result["runs"][name] = bench_run(config, run=name, args=args, device=device)
                result["targets"] = targets(result["runs"], args.model, args.tiny)
                write_json(args.out, result)
                free_memory(device)
        except torch.OutOfMemoryError:  # raised by the CUDA allocator
            if args.micro_batch == 1:
                raise
            out_of_memory = True
        if not out_of_memory:
            break
        # Every run at the same micro-batch: start again at half of it.
        result["out_of_memory_at_micro_batch"].append(args.micro_batch)
        result["runs"] = {}
        free_memory(device)
        print(
            f"out of GPU memory at micro-batch {args.micro_batch}; retrying with "
            f"{args.micro_batch // 2}",
            flush=True,
        )
        args.micro_batch //= 2
    result["targets"] = targets(result["runs"], args.model, args.tiny)
    write_json(args.out, result)
    print(table(result), flush=True)
    print(f"wrote {args.out}", flush=True)
    return result


if __name__ == "__main__":
    main()
