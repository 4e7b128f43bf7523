"""Benchmark of the merge (Eq. 5) on a generated LLaMA-shaped bf16 sharded checkpoint.

Generates a backbone Θ_o and two "fine-tuned" models Θ_A, Θ_B (Θ_o plus small noise), the
bf16 deltas R(A) = Θ_A − Θ_o and R_Lang = Θ_B − Θ_o, then measures in child processes:

- `write_merge` with T = every tensor (so the work equals task arithmetic: base + γR(A) + ηR_Lang),
- the I/O floor: the bytes the merge must read and write, and a plain read and write of the
  same files with the same positioned reads (no arithmetic),
- mergekit's task_arithmetic on the same inputs (base + γ(Θ_A − Θ_o) + η(Θ_B − Θ_o)), with
  `--lazy-unpickle` off and on, when `mergekit-yaml` is found.

With `--delta-density d` only a fraction d of the entries of Θ_A and Θ_B move (as after masked
CPT: R(A) is zero outside N_A ∪ N_L0), and `--delta-formats dense sparse` writes the deltas
in each format (`deltas.format`) and measures their size on disk and the merge from each.

Wall time is the child's whole run (interpreter start-up and imports included, as for the
mergekit command); peak RSS is the child's maximum resident set size (wait4). Every child
runs with OMP_NUM_THREADS=1, after an os.sync() so that no run pays for the write-back of an
earlier one. Inputs are read from the page cache (they were just written).

    .venv/bin/python benchmarks/bench_merge.py --out bench-out --layers 12 6
    .venv/bin/python benchmarks/bench_merge.py --out bench-out --layers 12 --delta-density 0.1 \
        --delta-formats dense sparse --repeats 3 --mergekit-repeats 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
GAMMA, ETA = 0.2, 1.0
SHARD_BYTES = 500_000_000


def llama_layout(
    layers: int, hidden: int = 2048, intermediate: int = 5632, vocab: int = 32000, kv_dim: int = 256
) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The tensor layout of a LLaMA model (TinyLlama-like widths), bf16, in name order."""
    shapes = {
        "model.embed_tokens.weight": (vocab, hidden),
        "lm_head.weight": (vocab, hidden),
        "model.norm.weight": (hidden,),
    }
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update(
            {
                p + "input_layernorm.weight": (hidden,),
                p + "post_attention_layernorm.weight": (hidden,),
                p + "self_attn.q_proj.weight": (hidden, hidden),
                p + "self_attn.k_proj.weight": (kv_dim, hidden),
                p + "self_attn.v_proj.weight": (kv_dim, hidden),
                p + "self_attn.o_proj.weight": (hidden, hidden),
                p + "mlp.gate_proj.weight": (intermediate, hidden),
                p + "mlp.up_proj.weight": (intermediate, hidden),
                p + "mlp.down_proj.weight": (hidden, intermediate),
            }
        )
    return {name: (shapes[name], torch.bfloat16) for name in sorted(shapes)}


def llama_config(layers: int) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": layers,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "vocab_size": 32000,
        "tie_word_embeddings": False,
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 2048,
        "torch_dtype": "bfloat16",
        "dtype": "bfloat16",
    }


def generate(root: Path, layers: int, seed: int = 0, density: float = 1.0) -> dict[str, Path]:
    """Θ_o, Θ_A, Θ_B as sharded HF directories, streamed row chunk by row chunk; a fraction
    ``density`` of the entries of Θ_A and Θ_B differ from Θ_o."""
    from maec.io.writer import CheckpointWriter

    paths = {tag: root / tag for tag in ("base", "model_a", "model_b")}
    if all((p / "model.safetensors.index.json").exists() for p in paths.values()):
        return paths
    layout = llama_layout(layers)
    gen = torch.Generator().manual_seed(seed)
    writers = [CheckpointWriter(p, layout, max_shard_bytes=SHARD_BYTES) for p in paths.values()]
    for w in writers:
        w.__enter__()
    rows_per_chunk = 2048
    for name, (shape, _) in layout.items():
        for start in range(0, shape[0], rows_per_chunk):
            rows = min(rows_per_chunk, shape[0] - start)
            base = torch.randn((rows, *shape[1:]), generator=gen).mul_(0.02)
            writers[0].write(name, start, base.bfloat16())
            for w in writers[1:]:
                moved = base + torch.randn(base.shape, generator=gen).mul_(1e-3)
                if density < 1:
                    moved = torch.where(
                        torch.rand(base.shape, generator=gen) < density, moved, base
                    )
                w.write(name, start, moved.bfloat16())
    for w in writers:
        w.__exit__(None, None, None)
    for p in paths.values():
        (p / "config.json").write_text(json.dumps(llama_config(layers), indent=2))
    return paths


# Peak RSS is measured by a small launcher that forks and execs the command and reads the
# child's rusage with wait4. Launching the command straight from this process would not do:
# Linux carries the high-water RSS of the process that execs into the new program's
# ru_maxrss, so every child would report at least this (torch-importing) process's RSS.
LAUNCHER = """
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
exit_code = os.waitstatus_to_exitcode(status)
print("@@rusage " + json.dumps({"maxrss_kib": usage.ru_maxrss, "wall_s": wall, "exit": exit_code}),
      flush=True)
"""


def run_child(command: list[str], env: dict | None = None) -> dict:
    """Run a command; its wall time, peak RSS and the JSON summary line it printed, if any."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    # Flush dirty pages first: otherwise a run pays for the write-back of whatever the
    # previous one wrote, and timings depend on the order of the runs.
    os.sync()
    proc = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *command], env=env, capture_output=True, text=True
    )
    lines = proc.stdout.strip().splitlines()
    usage = json.loads(next(line for line in reversed(lines) if line.startswith("@@rusage "))[9:])
    if usage["exit"]:
        raise RuntimeError(f"{command} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    summary = {}
    for line in lines:
        if line.startswith("{"):
            summary = json.loads(line)
    return {"wall_s": usage["wall_s"], "peak_rss_mib": usage["maxrss_kib"] / 1024, **summary}


CHILD_MERGE = """
import json, sys, time
t0 = time.perf_counter()
from maec.io.reader import open_checkpoint
from maec.combination.merge import write_merge
base, ra, rl, out = sys.argv[1:5]
t1 = time.perf_counter()
gamma, eta, shard = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
write_merge(base, ra, rl, set(open_checkpoint(base).names), out, gamma=gamma, eta=eta,
            max_shard_bytes=shard)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "merge_s": t2 - t1}))
"""

CHILD_IO = """
import json, os, sys, time
import torch
from maec.io.reader import open_checkpoint
t0 = time.perf_counter()
buffer = torch.empty(1 << 20, dtype=torch.uint8)
read = 0
for path in sys.argv[2:]:
    ckpt = open_checkpoint(path)
    for name in ckpt.names:
        for _, chunk in ckpt.iter_rows(name, 1 << 20, reuse_buffer=True):
            read += chunk.numel() * chunk.element_size()
t1 = time.perf_counter()
written, target = 0, int(sys.argv[1].split(":")[0])
with open(sys.argv[1].split(":", 1)[1], "wb") as f:
    view = memoryview(buffer.numpy())
    while written < target:
        n = min(len(view), target - written)
        f.write(view[:n])
        written += n
t2 = time.perf_counter()
os.unlink(sys.argv[1].split(":", 1)[1])
print(json.dumps({"read_bytes": read, "read_s": t1 - t0,
                  "write_bytes": written, "write_s": t2 - t1}))
"""


def make_deltas(paths: dict[str, Path], root: Path, delta_format: str = "dense") -> dict:
    """R(A) = Θ_A − Θ_o and R_Lang = Θ_B − Θ_o in bf16 (the engine's plain language delta),
    in ``delta_format``; ``paths`` gains r_a and r_lang (suffixed with a sparse format)."""
    timings = {}
    suffix = "" if delta_format == "dense" else f"_{delta_format}"
    for tag, model in (("r_a", paths["model_a"]), ("r_lang", paths["model_b"])):
        out = root / f"{tag}{suffix}"
        if not (out / "model.safetensors.index.json").exists():
            script = (
                "import sys; from maec.deltas.language import write_language_weights as w; "
                "w(sys.argv[1], sys.argv[2], None, sys.argv[3], alpha=1, beta=0, mode='plain', "
                f"dtype='bfloat16', delta_format='{delta_format}', max_shard_bytes={SHARD_BYTES})"
            )
            timings[tag] = run_child(
                [sys.executable, "-c", script, str(paths["base"]), str(model), str(out)]
            )
        paths[f"{tag}{suffix}"] = out
    return timings


def mergekit_run(paths: dict[str, Path], root: Path, lazy: bool, mergekit: str) -> dict:
    config = root / "mergekit.yml"
    config.write_text(
        "merge_method: task_arithmetic\n"
        f"base_model: {paths['base']}\n"
        "models:\n"
        f"  - model: {paths['model_a']}\n    parameters: {{weight: {GAMMA}}}\n"
        f"  - model: {paths['model_b']}\n    parameters: {{weight: {ETA}}}\n"
        "dtype: bfloat16\n"
    )
    out = root / f"mergekit_{'lazy' if lazy else 'eager'}"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        mergekit,
        str(config),
        str(out),
        "--no-copy-tokenizer",
        "--quiet",
        "--lazy-unpickle" if lazy else "--no-lazy-unpickle",
    ]
    result = run_child(command)
    shutil.rmtree(out, ignore_errors=True)
    return result


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.glob("*.safetensors"))


def merge_runs(paths: dict[str, Path], root: Path, suffix: str, repeats: int) -> list[dict]:
    """The MAEC merge from the deltas r_a{suffix} and r_lang{suffix}, ``repeats`` times."""
    out = root / "merged"
    runs = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        inputs = [paths["base"], paths[f"r_a{suffix}"], paths[f"r_lang{suffix}"]]
        command = [sys.executable, "-c", CHILD_MERGE, *map(str, inputs), str(out)]
        runs.append(run_child([*command, str(GAMMA), str(ETA), str(SHARD_BYTES)]))
    return runs


def bench_size(
    root: Path,
    layers: int,
    repeats: int,
    mergekit: str | None,
    mergekit_repeats: int,
    density: float = 1.0,
    delta_formats: tuple[str, ...] = ("dense",),
) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    paths = generate(root, layers, density=density)
    generate_s = time.perf_counter() - t
    result = {
        "layers": layers,
        "delta_density": density,
        "checkpoint_bytes": dir_bytes(paths["base"]),
        "generate_s": generate_s,
        "delta_runs": {},
    }
    for delta_format in delta_formats:
        result["delta_runs"][delta_format] = make_deltas(paths, root, delta_format)
    inputs = [paths["base"], paths["r_a"], paths["r_lang"]]
    read_bytes = sum(dir_bytes(p) for p in inputs)
    io = run_child(
        [
            sys.executable,
            "-c",
            CHILD_IO,
            f"{result['checkpoint_bytes']}:{root / 'io_probe.bin'}",
            *map(str, inputs),
        ]
    )
    result["io"] = io
    read_tp, write_tp = io["read_bytes"] / io["read_s"], io["write_bytes"] / io["write_s"]
    result["io_floor_s"] = read_bytes / read_tp + result["checkpoint_bytes"] / write_tp
    for delta_format in delta_formats:
        suffix = "" if delta_format == "dense" else f"_{delta_format}"
        result[f"delta_bytes_{delta_format}"] = {
            tag: dir_bytes(paths[f"{tag}{suffix}"]) for tag in ("r_a", "r_lang")
        }
        runs = merge_runs(paths, root, suffix, repeats)
        result["maec_runs" if delta_format == "dense" else f"maec_runs_{delta_format}"] = runs
    result["merged_bytes"] = dir_bytes(root / "merged")
    shutil.rmtree(root / "merged", ignore_errors=True)
    if mergekit:
        for lazy in (False, True):
            result[f"mergekit_{'lazy' if lazy else 'eager'}_runs"] = [
                mergekit_run(paths, root, lazy=lazy, mergekit=mergekit)
                for _ in range(mergekit_repeats)
            ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    parser.add_argument("--layers", type=int, nargs="+", default=[12, 6])
    parser.add_argument("--repeats", type=int, default=3, help="runs of the MAEC merge per size")
    parser.add_argument(
        "--mergekit-repeats", type=int, default=2, help="runs of each mergekit mode per size"
    )
    parser.add_argument("--mergekit", default=shutil.which("mergekit-yaml"))
    parser.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    parser.add_argument(
        "--delta-density",
        type=float,
        default=1.0,
        help="fraction of the entries that differ from the backbone (masked CPT: about 0.1)",
    )
    parser.add_argument(
        "--delta-formats", nargs="+", choices=("dense", "sparse"), default=["dense"]
    )
    args = parser.parse_args()
    if "dense" not in args.delta_formats:
        parser.error("--delta-formats must include dense (the reference)")
    mergekit = args.mergekit if args.mergekit and Path(args.mergekit).exists() else None
    if mergekit is None:
        print("mergekit-yaml not found: measuring the MAEC merge only", file=sys.stderr)
    results = []
    for layers in args.layers:
        root = args.out / f"llama_{layers}l_d{args.delta_density:g}"
        results.append(
            bench_size(
                root,
                layers,
                args.repeats,
                mergekit,
                args.mergekit_repeats,
                args.delta_density,
                tuple(args.delta_formats),
            )
        )
        print(json.dumps(results[-1], indent=2), flush=True)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    (args.out / "bench_merge.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
