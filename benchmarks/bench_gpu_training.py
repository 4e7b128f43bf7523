"""Benchmark of masked continual pre-training on one GPU against the same run unmasked.

Builds a randomly initialised model with the shape of Qwen2.5-0.5B or LLaMA-3.2-1B (from a
config, nothing downloaded) and trains it twice on random token ids with the project's own
training step (``maec.training.PlainBackend``: float32 master weights, bf16 autocast, AdamW,
gradient clipping): once unmasked, once restricted to a random mask holding 5 % of the
entries of every parameter tensor (``confine_to_mask`` + ``make_optimizer(masked=True)``,
i.e. ``GradientGatedAdamW``). Same micro-batch, sequence length and data for both.

Reports per run the median step time, tokens/s, model FLOPs utilisation, peak GPU memory,
and the masked/unmasked step-time ratio; after the masked run it checks that entries
outside the mask are bit-identical to their initial values in a sample of tensors. Prints a
table and writes every number to ``--out`` (JSON, rewritten after each run).

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

from maec.device import resolve_device  # noqa: E402
from maec.io.atomic import write_text  # noqa: E402
from maec.training.backends import PlainBackend  # noqa: E402
from maec.training.optimizer import make_optimizer  # noqa: E402
from maec.training.plan import PRECISIONS, lr_factor  # noqa: E402
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


def bench_run(config, *, masked: bool, args, device: torch.device) -> dict:
    """Warm-up and timed steps of one training run; with ``masked``, a random mask of
    density ``args.density`` and the invariant check."""
    model = build_model(config, args.seed)
    mask = random_mask(model, args.density, args.seed + 1) if masked else None
    if mask is not None:
        check_mask(mask, parameter_shapes(model), "random")
    model.to(device)
    model.train()
    counts = confine_to_mask(model, mask, device)
    parameters = dict(model.named_parameters())
    checked = sample_names(list(parameters), args.check_tensors) if masked else []
    initial = {name: parameters[name].detach().to("cpu", copy=True) for name in checked}
    optimizer = make_optimizer(
        [p for p in model.parameters() if p.requires_grad],
        args.lr,
        args.weight_decay,
        masked=masked,
    )
    backend = PlainBackend(
        model,
        optimizer,
        lr_factor("constant", 0, 1),
        args.max_grad_norm,
        args.micro_batch,
        args.precision,
        device,
    )

    generator = torch.Generator(device=device).manual_seed(args.seed)
    rows_shape = (args.micro_batch * args.accumulation, args.seq_len)

    def next_rows():
        return torch.randint(config.vocab_size, rows_shape, generator=generator, device=device)

    name = "masked" if masked else "unmasked"
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    timed_steps(backend.train_step, next_rows, args.warmup, device, float("inf"), f"{name} warm-up")
    seconds, losses = timed_steps(
        backend.train_step, next_rows, args.steps, device, args.max_seconds, name
    )

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
    if masked:
        result["invariant"] = check_invariant(parameters, initial, mask)
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


def targets(runs: dict) -> dict:
    report = {}
    if "masked" in runs and "unmasked" in runs:
        ratio = runs["masked"]["step_time_median_s"] / runs["unmasked"]["step_time_median_s"]
        report["masked_unmasked_step_time_ratio"] = ratio
        report["masking_cost_target_met"] = ratio < TARGET_MASKED_RATIO
    if "unmasked" in runs:
        report["mfu_target_met"] = runs["unmasked"]["mfu"] > TARGET_MFU
    if "masked" in runs:
        report["invariant_holds"] = runs["masked"]["invariant"]["holds"]
    return report


def table(result: dict) -> str:
    lines = [
        f"{result['model']}{' (tiny)' if result['tiny'] else ''} on {result['device_name']}: "
        f"micro-batch {result['micro_batch']} x {result['seq_len']} tokens x accumulation "
        f"{result['accumulation']}, {result['precision']} (float32 weights, "
        f"{'bf16 autocast' if result['precision'] == 'bf16' else 'float32 compute'}), "
        f"peak {result['peak_tflops']:g} TFLOP/s",
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
    if "mfu_target_met" in t:
        lines.append(
            f"unmasked MFU {result['runs']['unmasked']['mfu']:.1%} "
            f"(target > {TARGET_MFU:.0%}): {'met' if t['mfu_target_met'] else 'NOT met'}"
        )
    if "invariant_holds" in t:
        inv = result["runs"]["masked"]["invariant"]
        lines.append(
            f"invariant: {inv['changed_outside']} of {inv['entries_outside']:,} entries "
            f"outside the mask changed in {len(inv['tensors'])} sampled tensors "
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
        "--runs", nargs="+", choices=("unmasked", "masked"), default=["unmasked", "masked"]
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for key, value in RUN_DEFAULTS[args.tiny].items():
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
        "master_weights": "float32",
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
                result["runs"][name] = bench_run(
                    config, masked=name == "masked", args=args, device=device
                )
                result["targets"] = targets(result["runs"])
                write_json(args.out, result)
                free_memory(device)
        except torch.OutOfMemoryError:  # raised by the CUDA allocator
            if args.micro_batch == 1:
                raise
            out_of_memory = True
        if not out_of_memory:
            break
        # Both runs at the same micro-batch: start again at half of it.
        result["out_of_memory_at_micro_batch"].append(args.micro_batch)
        result["runs"] = {}
        free_memory(device)
        print(
            f"out of GPU memory at micro-batch {args.micro_batch}; retrying with "
            f"{args.micro_batch // 2}",
            flush=True,
        )
        args.micro_batch //= 2
    result["targets"] = targets(result["runs"])
    write_json(args.out, result)
    print(table(result), flush=True)
    print(f"wrote {args.out}", flush=True)
    return result


if __name__ == "__main__":
    main()
