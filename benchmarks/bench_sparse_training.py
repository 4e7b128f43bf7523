"""Benchmark of masked CPT on the CPU: dense optimizer state against the sparse one.

Builds a randomly initialised model with the shape of Qwen2.5-0.5B (hidden 896, MLP 4864,
24 layers, 14 heads / 2 KV heads, vocabulary 151,936, tied embeddings; from a config,
nothing downloaded) and trains it on random token ids under a random mask keeping each entry
of every parameter tensor with probability ``--density`` (5 %), twice, each in a fresh
child process and with the same seed, data and batch:

- **dense**: the dense masked path of ``train()``: the mask as booleans (as ``read_mask``
  gives it), ``confine_to_mask`` (frozen tensors, gradient hooks), ``GradientGatedAdamW``
  over every entry of the trained tensors, ``PlainBackend``;
- **sparse**: ``optimizer_state="sparse"``: the mask as positions (as ``read_mask_indices``
  gives it), ``SparseMaskedState`` (master values, moments and gradients of the masked
  entries only), ``SparseBackend``.

Both runs use the training dtype of ``--precision`` as ``train()`` does (fp32: float32
weights; bf16: the dense path keeps float32 weights under bf16 autocast, the sparse path
bf16 linear-layer weights). Reported per run: the child's peak RSS (``wait4``, the whole
process: imports, model, mask, training) and the median step time over ``--steps`` steps
after ``--warmup``; then the sparse/dense ratios against the targets (peak RSS at most 0.35x,
step time at most 1.15x) and whether the losses of every step agree bit for bit.

    .venv/bin/python benchmarks/bench_sparse_training.py --out bench-out/sparse_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_merge import run_child  # noqa: E402  (fork + exec + wait4 launcher)

from maec.io.atomic import write_text  # noqa: E402

QWEN_0_5B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    tie_word_embeddings=True,
    max_position_embeddings=32768,
)
TINY = dict(QWEN_0_5B, hidden_size=64, intermediate_size=128, num_hidden_layers=2)
TINY.update(num_attention_heads=4, vocab_size=512, max_position_embeddings=256)
TARGET_PEAK_RATIO = 0.35
TARGET_STEP_RATIO = 1.15
MASK_CHUNK = 1 << 20  # entries drawn at a time, so drawing the mask stays small


def mask_positions(model: torch.nn.Module, density: float, seed: int):
    """name -> MaskIndex: each entry kept with probability ``density``, drawn in chunks."""
    from maec.keyneurons.masks import MaskIndex, index_dtype

    generator = torch.Generator().manual_seed(seed)
    out = {}
    for name, param in model.named_parameters():
        parts = []
        for start in range(0, param.numel(), MASK_CHUNK):
            size = min(MASK_CHUNK, param.numel() - start)
            kept = (torch.rand(size, generator=generator) < density).nonzero().reshape(-1)
            parts.append((kept + start).to(index_dtype(param.numel())))
        out[name] = MaskIndex(tuple(param.shape), torch.cat(parts))
    return out


def as_booleans(indices) -> dict[str, torch.Tensor]:
    """The same mask one byte per entry, as the dense path holds it."""
    out = {}
    for name, key in indices.items():
        bits = torch.zeros(key.numel, dtype=torch.bool)
        bits[key.index.long()] = True
        out[name] = bits.reshape(key.shape)
    return out


def build_backend(state: str, args):
    """The model, its mask and the backend of one run, as train() builds them."""
    import transformers

    from maec.training.backends import PlainBackend
    from maec.training.optimizer import make_optimizer
    from maec.training.plan import lr_factor
    from maec.training.sparse import SparseBackend, SparseMaskedState, widen_outside_linear_layers
    from maec.training.trainable import confine_to_mask

    config = transformers.Qwen2Config(**(TINY if args.tiny else QWEN_0_5B))
    torch.manual_seed(args.seed)
    sparse_bf16 = state == "sparse" and args.precision == "bf16"
    model = transformers.AutoModelForCausalLM.from_config(
        config, dtype=torch.bfloat16 if sparse_bf16 else torch.float32
    )
    if sparse_bf16:  # a bf16 backbone: exact in bf16, float32 outside linear layers
        widen_outside_linear_layers(model)
    model.train()
    device = torch.device("cpu")
    indices = mask_positions(model, args.density, args.seed + 1)
    schedule = lr_factor("constant", 0, 1)
    if state == "sparse":
        sparse = SparseMaskedState(model, indices, lr=args.lr, weight_decay=args.weight_decay)
        return SparseBackend(
            model, sparse, schedule, args.max_grad_norm, args.micro_batch, args.precision, device
        )
    mask = as_booleans(indices)
    del indices
    confine_to_mask(model, mask, device)
    optimizer = make_optimizer(
        [p for p in model.parameters() if p.requires_grad], args.lr, args.weight_decay, True
    )
    return PlainBackend(
        model, optimizer, schedule, args.max_grad_norm, args.micro_batch, args.precision, device
    )


def child(state: str, args) -> dict:
    """One run: warm-up and timed steps; prints its step times and losses as JSON."""
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    backend = build_backend(state, args)
    built = time.perf_counter() - started
    generator = torch.Generator().manual_seed(args.seed)
    vocab = backend.module.config.vocab_size
    seconds, losses = [], []
    for step in range(args.warmup + args.steps):
        rows = torch.randint(
            vocab, (args.micro_batch * args.accumulation, args.seq_len), generator=generator
        )
        t0 = time.perf_counter()
        losses.append(backend.train_step(rows))
        if step >= args.warmup:
            seconds.append(time.perf_counter() - t0)
    return {"build_s": built, "step_times_s": seconds, "losses": losses}


def summary(result: dict) -> str:
    dense, sparse = result["runs"]["dense"], result["runs"]["sparse"]
    lines = [
        f"Qwen2.5-0.5B shape{' (tiny)' if result['tiny'] else ''}, density "
        f"{result['density']}, {result['precision']}, micro-batch {result['micro_batch']} x "
        f"{result['seq_len']} tokens x accumulation {result['accumulation']}, "
        f"{result['threads']} thread(s), glibc mmap threshold "
        f"{result['mmap_threshold'] or 'default'}, load average before {result['load_average']}",
        f"{'run':<7} {'peak RSS':>10} {'median step':>12} {'build':>8}",
    ]
    for name, run in (("dense", dense), ("sparse", sparse)):
        lines.append(
            f"{name:<7} {run['peak_rss_mib']:>6.0f} MiB {run['step_time_median_s']:>10.3f} s "
            f"{run['build_s']:>6.1f} s"
        )
    t = result["targets"]
    lines.append(
        f"peak RSS sparse/dense {t['peak_rss_ratio']:.3f} (target <= {TARGET_PEAK_RATIO}): "
        f"{'met' if t['peak_rss_target_met'] else 'NOT met'}"
    )
    lines.append(
        f"step time sparse/dense {t['step_time_ratio']:.3f} (target <= {TARGET_STEP_RATIO}): "
        f"{'met' if t['step_time_target_met'] else 'NOT met'}"
    )
    lines.append(f"losses of every step equal: {t['losses_equal']}")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "sparse_cpu.json")
    parser.add_argument("--tiny", action="store_true", help="a tiny config (for the test)")
    parser.add_argument("--density", type=float, default=0.05)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--micro-batch", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--accumulation", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mmap-threshold",
        type=int,
        help="glibc MALLOC_MMAP_THRESHOLD_ for both children (freed blocks above it go back "
        "to the system at once instead of staying in the heap); default: glibc's own",
    )
    parser.add_argument("--child", choices=("dense", "sparse"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def child_argv(settings: dict, state: str) -> list[str]:
    """The options of this run, for a child that runs one of its two runs."""
    argv = ["--child", state]
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if value is True:
            argv.append(flag)
        elif value is not False:
            argv += [flag, str(value)]
    return argv


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args)), flush=True)
        return {}
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "child")}
    result = {
        **settings,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "runs": {},
    }
    for state in ("dense", "sparse"):
        env = {}
        if args.mmap_threshold is not None:
            env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)
        command = [sys.executable, str(Path(__file__).resolve()), *child_argv(settings, state)]
        run = run_child(command, env)
        run["step_time_median_s"] = statistics.median(run["step_times_s"])
        result["runs"][state] = run
    dense, sparse = result["runs"]["dense"], result["runs"]["sparse"]
    peak = sparse["peak_rss_mib"] / dense["peak_rss_mib"]
    step = sparse["step_time_median_s"] / dense["step_time_median_s"]
    result["targets"] = {
        "peak_rss_ratio": peak,
        "peak_rss_target_met": peak <= TARGET_PEAK_RATIO,
        "step_time_ratio": step,
        "step_time_target_met": step <= TARGET_STEP_RATIO,
        "losses_equal": dense["losses"] == sparse["losses"],
    }
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(summary(result), flush=True)
    return result


if __name__ == "__main__":
    main()
