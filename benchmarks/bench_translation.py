"""Cost of the translation rule: `maec.data.translation.translate_corpus`, the rule's own
code, with a randomly initialised model of facebook/nllb-200-distilled-600M's shape
(M2M100, d_model 1024, 12 + 12 layers, 16 heads, FFN 4096, its vocabulary of 256,206
tokens), translating GSM8K training documents from ../shared/data into Spanish.

Random weights almost never emit the end of a sentence, so every batch is decoded to the
rule's cap of 2 × max_length new tokens: the seconds per source token measured here are an
upper bound for a real checkpoint, which stops about where its translation ends. The
summary extrapolates them to the configured cap of source tokens per corpus and language.

    .venv/bin/python benchmarks/bench_translation.py --out bench-out/translation            # CPU
    .venv/bin/python benchmarks/bench_translation.py --out bench-out/translation-gpu \
        --device cuda --max-length 256 --batch-size 64 --tokens 100000
    .venv/bin/python benchmarks/bench_translation.py --out bench-out/translation-tiny --shape tiny

The summary is printed and written to `{out}/bench_translation.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import torch
import yaml

from maec.data.translation import translate_corpus
from maec.rehearsal.translator import NLLB_VOCAB, SHAPES, write_hub_translator

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CONFIGURED_CAP = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["translation"][
    "max_tokens"
]


def run(args) -> dict:
    documents = [json.loads(line) for line in (DATA / "gsm8k" / "train.jsonl").open()]
    texts = [f"{row['question']}\n{row['answer']}" for row in documents]
    root = args.out / "work"
    corpus = root / "math_en.jsonl"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    started = time.perf_counter()
    vocab = NLLB_VOCAB if args.shape == "nllb-600m" else None
    model_dir = write_hub_translator(root / "model", texts, shape=args.shape, vocab_size=vocab)
    build_s = time.perf_counter() - started
    reading = dict(source=str(corpus), text_field="text", split="train", name=None, data_files=None)
    summary = translate_corpus(
        reading,
        model_dir,
        root / "math_es.jsonl",
        source_code="eng_Latn",
        target_code="spa_Latn",
        max_tokens=args.tokens,
        max_length=args.max_length,
        batch_size=args.batch_size,
        device=args.device,
    )
    parameters = _count_parameters(model_dir)
    per_token = summary["seconds"] / summary["source_tokens"]
    return {
        "shape": args.shape,
        "parameters": parameters,
        "device": args.device,
        "device_name": _device_name(args.device),
        "torch_threads": torch.get_num_threads(),
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "documents": summary["documents"],
        "source_tokens": summary["source_tokens"],
        "seconds": summary["seconds"],
        "model_build_s": build_s,
        "seconds_per_source_token": per_token,
        "hours_for_configured_cap": per_token * CONFIGURED_CAP / 3600,
    }


def _count_parameters(model_dir: Path) -> int:
    from safetensors import safe_open

    with safe_open(model_dir / "model.safetensors", "pt") as handle:
        return sum(math.prod(handle.get_slice(name).get_shape()) for name in handle.keys())


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu, {torch.get_num_threads()} threads"


def print_summary(result: dict) -> None:
    print(
        f"\n{result['shape']}: {result['parameters']:,} parameters on {result['device_name']}; "
        f"segments of at most {result['max_length']} tokens, batches of {result['batch_size']}"
    )
    print(
        f"{result['documents']} documents, {result['source_tokens']:,} source tokens in "
        f"{result['seconds']:.1f} s: {1e3 * result['seconds_per_source_token']:.2f} ms per "
        f"source token (an upper bound: random weights decode to the cap)"
    )
    print(
        f"at that rate the configured cap of {CONFIGURED_CAP:,} source tokens per corpus and "
        f"language takes {result['hours_for_configured_cap']:,.0f} h"
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="nllb-600m")
    parser.add_argument("--tokens", type=int, default=2000, help="source tokens to translate")
    # CPU-sized defaults; config/config.yaml translates with 256 and 64
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if not (DATA / "gsm8k" / "train.jsonl").is_file():
        sys.exit(f"{DATA}: the shared data (gsm8k) is not there")
    try:
        result = run(args)
    finally:
        shutil.rmtree(args.out / "work", ignore_errors=True)
    (args.out / "bench_translation.json").write_text(json.dumps(result, indent=2) + "\n")
    print_summary(result)
    return result


if __name__ == "__main__":
    main()
