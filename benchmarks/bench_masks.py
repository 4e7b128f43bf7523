"""Benchmark of the global top-k1 key-neuron mask on the merge benchmark's generated checkpoint.

Builds N_A = top k1 of I = abs(Θ_A − Θ_o) / lr over every entry of a LLaMA-shaped bf16 sharded
checkpoint (generated as in bench_merge.py) in a child process, and reports wall time, peak
RSS, and the I/O floor of its three streamed passes (each reads Θ_o and Θ_A), from a plain
read of the same files measured in the same run. OMP_NUM_THREADS=1.

    .venv/bin/python benchmarks/bench_masks.py --out bench-out --layers 12 6
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_merge import CHILD_IO, REPO, dir_bytes, generate, run_child  # noqa: E402

CHILD_MASK = """
import json, sys, time
t0 = time.perf_counter()
from maec.keyneurons.masks import build_key_neuron_mask
t1 = time.perf_counter()
backbone, tuned, out, k1 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
summary = build_key_neuron_mask(backbone, tuned, out, k1=k1, lr=5e-5)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "mask_s": t2 - t1, "kept": summary["kept"],
                  "eligible": summary["eligible"], "threshold": summary["threshold"]}))
"""


def bench_size(root: Path, layers: int, k1: float, repeats: int) -> dict:
    paths = generate(root, layers)
    checkpoint_bytes = dir_bytes(paths["base"])
    io = run_child(
        [
            sys.executable,
            "-c",
            CHILD_IO,
            f"0:{root / 'io_probe.bin'}",
            str(paths["base"]),
            str(paths["model_a"]),
        ]
    )
    read_tp = io["read_bytes"] / io["read_s"]
    runs = []
    for _ in range(repeats):
        out = root / "mask.safetensors"
        runs.append(
            run_child(
                [
                    sys.executable,
                    "-c",
                    CHILD_MASK,
                    str(paths["base"]),
                    str(paths["model_a"]),
                    str(out),
                    str(k1),
                ]
            )
        )
        mask_bytes = out.stat().st_size
        out.unlink()
    return {
        "layers": layers,
        "checkpoint_bytes": checkpoint_bytes,
        "k1": k1,
        "io": io,
        "io_floor_s": 3 * 2 * checkpoint_bytes / read_tp,
        "mask_bytes": mask_bytes,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    parser.add_argument("--layers", type=int, nargs="+", default=[12, 6])
    parser.add_argument("--k1", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    args = parser.parse_args()
    results = []
    for layers in args.layers:
        root = args.out / f"llama_{layers}l"
        results.append(bench_size(root, layers, args.k1, args.repeats))
        print(json.dumps(results[-1], indent=2), flush=True)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    (args.out / "bench_masks.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
