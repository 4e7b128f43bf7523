"""Benchmark of merge on load against writing a merge variant and loading it.

Builds a LLaMA-shaped bf16 backbone directory (`--layers` decoder layers of TinyLlama widths by
default; a word-level tokenizer beside it) and bf16 deltas R(A), R_Lang of its shapes, then
measures in child processes, on `--device` (cpu, or cuda on a GPU machine):

- **written**: `write_merge` of Eq. 5 into a sharded file, its `.hf` directory, and the
  evaluation's `load_model` of that directory: what a variant cost before merge on load;
- **on load**: the evaluation's load of the backbone directory and the same `write_merge` into
  its parameters (`maec.evaluation.on_load.ParameterSink`): what a variant costs now.

Each child reports its phases (imports, merge, load), its wall time and peak RSS (wait4), and,
with `--check`, a last child loads both models and compares every parameter bit for bit
(`equal`). Every child runs with OMP_NUM_THREADS=1 after os.sync(). Results go to
`{out}/bench_merge_on_load.json`.

    .venv/bin/python benchmarks/bench_merge_on_load.py --out bench-out --layers 6 --check
    .venv/bin/python benchmarks/bench_merge_on_load.py --out bench-out --layers 32 \
        --hidden 4096 --intermediate 14336 --vocab 128256 --kv-heads 8 --device cuda
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_merge import run_child  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GAMMA, ETA = 0.2, 1.0
SHARD_BYTES = 500_000_000


def build_inputs(root: Path, layers: int, hidden: int, intermediate: int, vocab: int,
                 kv_heads: int, seed: int = 0) -> dict[str, Path]:  # fmt: skip
    """The backbone directory (bf16, sharded, with a tokenizer) and bf16 deltas R(A), R_Lang
    of its layout, written tensor by tensor."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from maec.io.reader import open_checkpoint
    from maec.io.writer import CheckpointWriter

    paths = {"base": root / "base", "r_a": root / "r_a", "r_lang": root / "r_lang"}
    if all((p / "done").exists() for p in paths.values()):
        return paths
    config = LlamaConfig(
        hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64), num_key_value_heads=kv_heads,
        vocab_size=vocab, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu").to(torch.bfloat16)
    for parameter in model.parameters():
        parameter.data.normal_(0, 0.02)
    model.save_pretrained(paths["base"], max_shard_size=SHARD_BYTES)
    del model
    words = {"<unk>": 0, "</s>": 1, **{f"w{i}": i + 2 for i in range(100)}}
    tokenizer = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", eos_token="</s>"
    ).save_pretrained(paths["base"])
    base = open_checkpoint(paths["base"])
    layout = {name: (base.shape(name), torch.bfloat16) for name in base.names}
    generator = torch.Generator().manual_seed(seed + 1)
    for tag in ("r_a", "r_lang"):
        with CheckpointWriter(paths[tag], layout, max_shard_bytes=SHARD_BYTES) as writer:
            for name, (shape, _) in layout.items():
                delta = torch.randn(shape, generator=generator).mul_(1e-3)
                writer.write(name, 0, delta.bfloat16())
    for path in paths.values():
        (path / "done").touch()
    return paths


CHILD_WRITTEN = """
import json, sys, time
t0 = time.perf_counter()
import torch
from maec.combination.merge import write_merge
from maec.evaluation.generation import load_model
from maec.io.hf_dir import write_hf_directory
from maec.io.reader import open_checkpoint
base, r_a, r_lang, out, device = sys.argv[1:6]
t1 = time.perf_counter()
selected = set(open_checkpoint(base).names)
write_merge(base, r_a, r_lang, selected, out + ".safetensors", gamma=float(sys.argv[6]),
            eta=float(sys.argv[7]), max_shard_bytes=int(sys.argv[8]))
write_hf_directory(out + ".safetensors", base, out + ".hf")
t2 = time.perf_counter()
model, _ = load_model(out + ".hf", torch.device(device))
if device == "cuda":
    torch.cuda.synchronize()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "merge_s": t2 - t1, "load_s": t3 - t2}))
"""

CHILD_ON_LOAD = """
import json, sys, time
t0 = time.perf_counter()
import torch
from maec.combination.merge import write_merge
from maec.evaluation.generation import read_model
from maec.evaluation.on_load import ParameterSink, written_dtype
from maec.io.reader import open_checkpoint
base, r_a, r_lang, device = sys.argv[1:5]
t1 = time.perf_counter()
model, _ = read_model(base, torch.device(device), written_dtype(base, None))
t2 = time.perf_counter()
selected = set(open_checkpoint(base).names)
write_merge(base, r_a, r_lang, selected, ParameterSink(model, "variant"),
            gamma=float(sys.argv[5]), eta=float(sys.argv[6]))
if device == "cuda":
    torch.cuda.synchronize()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "merge_s": t3 - t2}))
"""

CHILD_CHECK = """
import json, sys
import torch
from maec.combination.merge import write_merge
from maec.evaluation.generation import read_model
from maec.evaluation.on_load import ParameterSink, written_dtype
from maec.io.reader import open_checkpoint
base, r_a, r_lang, written, device = sys.argv[1:6]
model, _ = read_model(base, torch.device(device), written_dtype(base, None))
write_merge(base, r_a, r_lang, set(open_checkpoint(base).names), ParameterSink(model, "v"),
            gamma=float(sys.argv[6]), eta=float(sys.argv[7]))
expected, _ = read_model(written, torch.device(device))
ours = model.state_dict()
equal = all(torch.equal(ours[n], t) for n, t in expected.state_dict().items())
print(json.dumps({"equal": equal, "tensors": len(ours)}))
"""


def bench(paths: dict[str, Path], root: Path, device: str, repeats: int, check: bool) -> dict:
    inputs = [str(paths["base"]), str(paths["r_a"]), str(paths["r_lang"])]
    out = root / "variant"
    written, on_load = [], []
    for _ in range(repeats):
        for suffix in (".safetensors", ".hf"):
            shutil.rmtree(f"{out}{suffix}", ignore_errors=True)
        command = [sys.executable, "-c", CHILD_WRITTEN, *inputs, str(out), device]
        written.append(run_child([*command, str(GAMMA), str(ETA), str(SHARD_BYTES)]))
        command = [sys.executable, "-c", CHILD_ON_LOAD, *inputs, device, str(GAMMA), str(ETA)]
        on_load.append(run_child(command))
    result = {
        "variant_bytes_written": sum(
            p.stat().st_size for p in Path(f"{out}.safetensors").iterdir()
        ),
        "written": written,
        "on_load": on_load,
    }
    if check:
        command = [sys.executable, "-c", CHILD_CHECK, *inputs, f"{out}.hf", device]
        result["check"] = run_child([*command, str(GAMMA), str(ETA)])
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--intermediate", type=int, default=5632)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="compare the two bit for bit")
    parser.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    args = parser.parse_args(argv)
    root = args.out / f"merge_on_load_{args.layers}"
    widths = (args.layers, args.hidden, args.intermediate, args.vocab, args.kv_heads)
    paths = build_inputs(root, *widths)
    result = {
        "layers": args.layers, "hidden": args.hidden, "intermediate": args.intermediate,
        "vocab": args.vocab, "device": args.device,
        "backbone_bytes": sum(p.stat().st_size for p in paths["base"].glob("*.safetensors")),
        **bench(paths, root, args.device, args.repeats, args.check),
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_merge_on_load.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    if not args.keep:
        shutil.rmtree(root)
    return result


if __name__ == "__main__":
    main()
