"""Host memory of loading the backbone for ZeRO-3: partitioned as it is built, against a
whole-model load, per process of a torchrun launch on the CPU (DeepSpeed's CPU accelerator,
gloo).

Writes a randomly initialised LLaMA-shaped checkpoint (``--hidden``, ``--intermediate``,
``--layers``, ``--vocab``; float32 by default), then runs ``--processes`` processes twice:

- **partitioned**: ``maec.training.backends.load_partitioned`` (the model built inside
  ``deepspeed.zero.Init``, the weights copied in tensor by tensor), what ``train()`` does
  under ZeRO-3;
- **whole**: ``AutoModelForCausalLM.from_pretrained``, what ``train()`` does under ZeRO-2
  (and did under ZeRO-3 before partitioning at ``deepspeed.initialize``).

Each process reports the growth of its resident set during the load: the peak (``VmHWM``,
reset just before) and what stays (``VmRSS``), both above its RSS before the load (torch,
transformers and DeepSpeed imported, the process group joined). The summary compares them
with one copy of the model.

    .venv/bin/python benchmarks/bench_zero3_load.py --out bench-out/zero3_load.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from maec.io.atomic import write_text  # noqa: E402

ZERO3 = REPO / "config" / "deepspeed" / "zero3.json"


def memory_mib() -> dict[str, float]:
    """This process's resident set now and its peak since the last reset (/proc)."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


def write_backbone(directory: Path, args) -> int:
    """A random LLaMA-shaped model directory; returns the bytes of its weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        vocab_size=args.vocab,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(getattr(torch, args.dtype))
    model.save_pretrained(directory)
    return sum(p.numel() * p.element_size() for p in model.parameters())


def child(mode: str, backbone: Path, dtype: str, out: Path) -> None:
    """One process of the launch: the load, and its memory."""
    torch.set_num_threads(1)
    from transformers import AutoModelForCausalLM

    from maec.training.backends import deepspeed_settings, init_distributed, load_partitioned

    config, _ = deepspeed_settings(
        ZERO3,
        micro_batch_size=1,
        accumulation=1,
        world_size=int(os.environ["WORLD_SIZE"]),
        precision="bf16" if dtype == "bfloat16" else "fp32",
    )
    init_distributed()
    # what both loads import on first use, so that only the load itself is measured
    import deepspeed.runtime.zero.partition_parameters  # noqa: F401
    import transformers.integrations.deepspeed  # noqa: F401
    from accelerate.utils import deepspeed as _  # noqa: F401
    from transformers import LlamaForCausalLM  # noqa: F401

    before = memory_mib()["VmRSS"]
    reset_peak()
    if mode == "partitioned":
        model = load_partitioned(backbone, config, getattr(torch, dtype))
    else:
        model = AutoModelForCausalLM.from_pretrained(backbone, dtype=getattr(torch, dtype))
    with torch.no_grad():  # weights may be mapped from the file: touch them, as training will
        touched = sum(float(p.data.float().sum()) for p in model.parameters())
    after = memory_mib()
    held = sum(p.numel() * p.element_size() for p in model.parameters())
    rank = int(os.environ["RANK"])
    result = {
        "rank": rank,
        "rss_before_mib": before,
        "peak_growth_mib": after["VmHWM"] - before,
        "held_growth_mib": after["VmRSS"] - before,
        "parameter_bytes_held": held,
        "checksum": touched,
    }
    (out / f"{mode}-{rank}.json").write_text(json.dumps(result))
    torch.distributed.barrier()


def launch(mode: str, backbone: Path, args, out: Path) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    if args.mmap_threshold is not None:
        env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={args.processes}", str(Path(__file__).resolve())]
    command += ["--child", mode, "--backbone", str(backbone), "--dtype", args.dtype]
    command += ["--child-out", str(out)]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
    return [json.loads((out / f"{mode}-{r}.json").read_text()) for r in range(args.processes)]


def summary(result: dict) -> str:
    model = result["model_bytes"] / 2**20
    lines = [
        f"{result['parameters']:,} parameters, {result['dtype']}: one model copy "
        f"{model:.0f} MiB; {result['processes']} processes on the CPU; glibc mmap threshold "
        f"{result['mmap_threshold'] or 'default'}",
        f"{'load':<12} {'rank':>4} {'peak growth':>12} {'held growth':>12} {'peak/copy':>10}",
    ]
    for mode in ("partitioned", "whole"):
        for run in result[mode]:
            lines.append(
                f"{mode:<12} {run['rank']:>4} {run['peak_growth_mib']:>8.0f} MiB "
                f"{run['held_growth_mib']:>8.0f} MiB {run['peak_growth_mib'] / model:>10.2f}"
            )
    worst = max(run["peak_growth_mib"] for run in result["partitioned"]) / model
    lines.append(
        f"partitioned: largest peak per process {worst:.2f} of a model copy "
        f"({'below' if worst < 1 else 'NOT below'} one copy)"
    )
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "zero3_load.json")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--intermediate", type=int, default=2816)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--kv-heads", type=int, default=4)
    # the embedding 8 % of the model, near LLaMA-3 8B's 6.5 %: the largest gathered tensor
    parser.add_argument("--vocab", type=int, default=16384)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument(
        "--mmap-threshold",
        type=int,
        help="glibc MALLOC_MMAP_THRESHOLD_ for the processes (freed blocks above it go back "
        "to the system at once instead of staying in the heap); default: glibc's own",
    )
    parser.add_argument("--child", choices=("partitioned", "whole"), help=argparse.SUPPRESS)
    parser.add_argument("--backbone", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.child:
        child(args.child, args.backbone, args.dtype, args.child_out)
        return {}
    scratch = Path(tempfile.mkdtemp(prefix="zero3-load-"))
    try:
        model_bytes = write_backbone(scratch / "backbone", args)
        result = {
            "parameters": model_bytes // getattr(torch, args.dtype).itemsize,
            "model_bytes": model_bytes,
            "dtype": args.dtype,
            "processes": args.processes,
            "mmap_threshold": args.mmap_threshold,
            "zero3_config": str(ZERO3.relative_to(REPO)),
        }
        for mode in ("partitioned", "whole"):
            result[mode] = launch(mode, scratch / "backbone", args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(summary(result), flush=True)
    return result


if __name__ == "__main__":
    main()
