"""Numerics at the paper's precision: ties at the top-k1 threshold, and γR(A) after rounding.

On a randomly initialised LLaMA-shaped bf16 backbone (`--size`), with a BPE tokenizer trained
on the corpora, the MAEC pipeline runs in miniature on real text from ../shared/data: GSM8K
(the ability corpus, math_en), FLORES-200 English (general_en, L0) and Spanish (general_es).
Every training run is the project's `train` (plain loop, float32 masters, bf16 autocast
(`--precision`), AdamW, lr 5e-5, `--steps` steps, no warm-up):

1. importance CPT on each corpus, saving the float32 masters;
2. the key-neuron masks (k1 = 5 %, global, every tensor eligible), built once from the
   bf16-rounded checkpoint and once from the float32 masters: the entries tied at the
   threshold are counted for both;
3. the masked CPT runs Θ_{A,L0} (math_en + general_en over N_A ∪ N_L0), Θ_{L0} (general_en
   over N_L0) and Θ_{es,L0} (general_es + general_en over N_es ∪ N_L0), from the float32
   masks; R(A) and R(es) by Eq. 2 (α 0.8, β 0.2), R_Lang = 1.5 R(es) (Eq. 3), T by Eq. 4
   (k2 0.8);
4. the merge (γ 0.2, η 1.0) written in bf16 with its rounding report
   (`maec.combination.rounding`), and for comparison without R_Lang and in float32;
5. R(A) and R(es) once more from the masked runs' float32 masters (`deltas.precision:
   float32`): how far the deltas of the bf16 checkpoints are from them (relative L1 per
   tensor, Σ|R_bf16 − R_fp32| / Σ|R_fp32|), and whether T and the bf16 merge change.

    .venv/bin/python benchmarks/bench_numerics.py --out bench-out/numerics        # 287 MB
    .venv/bin/python benchmarks/bench_numerics.py --out bench-out/numerics-tiny --size tiny

The summary is printed and written to `{out}/bench_numerics.json`; `--keep` keeps the
checkpoints (several GB at the default size).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from maec.combination.merge import write_merge
from maec.combination.similarity import read_selected, write_similarity_table
from maec.data.tokens import pack_corpus
from maec.deltas.ability import write_ability_weights
from maec.deltas.language import write_language_weights, write_r_lang
from maec.io.reader import open_checkpoint
from maec.keyneurons.masks import build_key_neuron_mask, union_masks
from maec.training import train
from maec.training.masters import float32_masters
from maec.world import backbone_config, train_tokenizer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

# name -> LlamaConfig fields: "default" has 143 M parameters (287 MB in bf16), "small" 27 M
SIZES = {
    "default": dict(hidden_size=1024, layers=12, heads=16, kv_heads=4, intermediate_size=2816),
    "small": dict(hidden_size=512, layers=8, heads=8, kv_heads=2, intermediate_size=1408),
    "tiny": dict(hidden_size=64, layers=2, heads=4, kv_heads=2, intermediate_size=128),
}
LR, K1, ALPHA, BETA, GAMMA, ETA, K2, MU_ES = 5e-5, 0.05, 0.8, 0.2, 0.2, 1.0, 0.8, 1.5


def write_corpora(root: Path, max_docs: int | None) -> dict[str, Path]:
    """math_en from GSM8K (question and worked answer), general_en and general_es from
    FLORES-200 (every split), one JSON line {"text": ...} per document."""
    corpora = {}
    gsm8k = [json.loads(line) for line in (DATA / "gsm8k" / "train.jsonl").open()]
    corpora["math_en"] = [f"{row['question']}\n{row['answer']}" for row in gsm8k]
    for corpus, code in [("general_en", "eng_Latn"), ("general_es", "spa_Latn")]:
        texts = []
        for split in ("train", "dev", "test"):
            with (DATA / "flores_sib200" / f"{code}_{split}.tsv").open() as handle:
                texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
        corpora[corpus] = texts
    paths = {}
    for corpus, texts in corpora.items():
        paths[corpus] = root / "corpora" / f"{corpus}.jsonl"
        paths[corpus].parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"text": t}) for t in texts[:max_docs]]
        paths[corpus].write_text("\n".join(lines) + "\n")
    return paths


def make_backbone(root: Path, corpora: dict[str, Path], size: str, vocab: int) -> Path:
    """A BPE tokenizer on the corpora and a randomly initialised bf16 LLaMA saved with it."""
    tokenizer = train_tokenizer(list(corpora.values()), root / "tokenizer", vocab_size=vocab)
    shape = SIZES[size]
    config = backbone_config(
        len(tokenizer),
        max_positions=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **shape,
    )
    config.dtype = "bfloat16"
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(root / "backbone")
    tokenizer.save_pretrained(root / "backbone")
    return root / "backbone"


def count_parameters(backbone: Path) -> int:
    ckpt = open_checkpoint(backbone)
    return sum(ckpt.numel(n) for n in ckpt.names)


def run_pipeline(root: Path, args) -> dict:
    timings = {}
    started = time.perf_counter()
    corpora = write_corpora(root, args.max_docs)
    backbone = make_backbone(root, corpora, args.size, args.vocab)
    tokens = {}
    for corpus, path in corpora.items():
        pack_corpus(path, backbone, root / "tokens" / corpus, block_size=args.block)
        tokens[corpus] = str(root / "tokens" / corpus)
    timings["setup_s"] = time.perf_counter() - started
    batch = args.block * args.micro_batch * args.accumulation
    training = dict(
        lr=LR,
        total_tokens=args.steps * batch,
        batch_tokens=batch,
        micro_batch_size=args.micro_batch,
        precision=args.precision,
        device="cpu",
        seed=0,
    )

    def cpt(name, runs, mask=None, fp32_masters=False):
        started = time.perf_counter()
        weight = 1.0 / len(runs)
        train(
            backbone,
            [(tokens[c], weight) for c in runs],
            root / "cpt" / name,
            mask=mask,
            fp32_masters=fp32_masters,
            **training,
        )
        timings[f"train_{name}_s"] = time.perf_counter() - started
        print(f"trained {name} in {timings[f'train_{name}_s']:.0f} s", flush=True)
        return root / "cpt" / name

    masks, ties = {}, {}
    for corpus in corpora:
        run = cpt(f"importance_{corpus}", [corpus], fp32_masters=True)
        for inputs, tuned in [("bf16", run), ("fp32", float32_masters(run))]:
            summary = build_key_neuron_mask(
                backbone, tuned, root / "masks" / f"{corpus}.{inputs}.safetensors", k1=K1, lr=LR
            )
            ties.setdefault(corpus, {})[inputs] = {
                key: summary[key] for key in ("threshold", "tied", "tied_kept", "k", "eligible")
            }
        masks[corpus] = root / "masks" / f"{corpus}.fp32.safetensors"
    for name, members in [
        ("math", ["math_en", "general_en"]),
        ("es", ["general_es", "general_en"]),
    ]:
        union_masks([masks[c] for c in members], root / "masks" / f"{name}+en.safetensors")
    runs = {
        "ability": cpt(
            "math_en+general_en",
            ["math_en", "general_en"],
            root / "masks/math+en.safetensors",
            fp32_masters=True,
        ),
        "reference": cpt("general_en", ["general_en"], masks["general_en"], fp32_masters=True),
        "language": cpt(
            "general_es+general_en",
            ["general_es", "general_en"],
            root / "masks/es+en.safetensors",
            fp32_masters=True,
        ),
    }
    deltas = root / "deltas"
    selected = write_deltas(backbone, runs, deltas)
    precise = root / "deltas-fp32"
    selected_fp32 = write_deltas(
        backbone, {role: float32_masters(run) for role, run in runs.items()}, precise
    )
    merges = {}
    for label, r_lang, dtype in [
        ("bf16", deltas / "r_lang.safetensors", None),
        ("bf16_without_r_lang", None, None),
        ("float32", deltas / "r_lang.safetensors", "float32"),
    ]:
        report = write_merge(
            backbone,
            deltas / "ra.safetensors",
            r_lang,
            selected,
            root / "merged" / f"{label}.safetensors",
            gamma=GAMMA,
            eta=ETA,
            dtype=dtype,
            rounding_report=root / "merged" / f"{label}.rounding.json",
        )
        merges[label] = {k: v for k, v in report.items() if k != "tensors"}
    write_merge(
        backbone,
        precise / "ra.safetensors",
        precise / "r_lang.safetensors",
        selected_fp32,
        root / "merged" / "bf16_from_fp32_deltas.safetensors",
        gamma=GAMMA,
        eta=ETA,
    )
    precision = {
        name: relative_l1(deltas / f"{name}.safetensors", precise / f"{name}.safetensors")
        for name in ("ra", "es", "r_lang")
    }
    precision["T_changed"] = sorted(selected ^ selected_fp32)
    precision["merged_entries_changed"] = changed_entries(
        root / "merged" / "bf16.safetensors", root / "merged" / "bf16_from_fp32_deltas.safetensors"
    )
    return {
        "size": args.size,
        "parameters": count_parameters(backbone),
        "backbone_bytes": sum(p.stat().st_size for p in backbone.glob("*.safetensors")),
        "steps": args.steps,
        "precision": args.precision,
        "batch_tokens": batch,
        "lr": LR,
        "k1": K1,
        "tensors_in_T": len(selected),
        "ties": ties,
        "merges": merges,
        "delta_precision": precision,
        "timings": timings,
        "torch_threads": torch.get_num_threads(),
    }


def write_deltas(backbone, runs: dict, folder: Path) -> set[str]:
    """R(A), R(es) and R_Lang of the runs (ability, reference, language: checkpoints or
    their float32 masters) and T; returns T."""
    write_ability_weights(
        backbone,
        runs["ability"],
        runs["reference"],
        folder / "ra.safetensors",
        alpha=ALPHA,
        beta=BETA,
    )
    write_language_weights(
        backbone,
        runs["language"],
        runs["reference"],
        folder / "es.safetensors",
        alpha=ALPHA,
        beta=BETA,
    )
    write_r_lang({"es": folder / "es.safetensors"}, {"es": MU_ES}, folder / "r_lang.safetensors")
    write_similarity_table(
        folder / "ra.safetensors", folder / "r_lang.safetensors", folder / "s.tsv", k2=K2
    )
    return read_selected(folder / "s.tsv")


def relative_l1(rounded, precise) -> dict:
    """Σ|R_rounded − R_precise| / Σ|R_precise| per tensor (where R_precise ≠ 0) and over
    the model, read tensor by tensor: the median, the largest and the whole model's."""
    a, b = open_checkpoint(rounded), open_checkpoint(precise)
    per_tensor, error, total = [], 0.0, 0.0
    for name in b.names:
        exact = b.read(name).double()
        diff = (a.read(name).double() - exact).abs().sum().item()
        size = exact.abs().sum().item()
        error, total = error + diff, total + size
        if size > 0:
            per_tensor.append(diff / size)
    per_tensor.sort()
    return {
        "median": per_tensor[len(per_tensor) // 2],
        "max": per_tensor[-1],
        "model": error / total,
        "tensors": len(per_tensor),
    }


def changed_entries(first, second) -> dict:
    """How many entries of two models differ, read tensor by tensor."""
    a, b = open_checkpoint(first), open_checkpoint(second)
    changed = sum(int((a.read(n) != b.read(n)).sum()) for n in a.names)
    return {"changed": changed, "entries": sum(a.numel(n) for n in a.names)}


def print_summary(result: dict) -> None:
    print(
        f"\n{result['size']}: {result['parameters']:,} parameters, bf16 backbone "
        f"{result['backbone_bytes'] / 1e6:.0f} MB; {result['steps']} steps of "
        f"{result['batch_tokens']} tokens at lr {result['lr']}, {result['precision']} compute"
    )
    print(f"\nentries tied at the top-k1 threshold (k1 = {result['k1']}):")
    print("| corpus | k | inputs | threshold | tied | tied kept |")
    print("| --- | --- | --- | --- | --- | --- |")
    for corpus, by_inputs in result["ties"].items():
        for inputs, t in by_inputs.items():
            print(
                f"| {corpus} | {t['k']:,} | {inputs} | {t['threshold']:.6g} | {t['tied']:,} | "
                f"{t['tied_kept']:,} |"
            )
    print(
        f"\nγR(A) after rounding (γ {GAMMA}, α {ALPHA}, β {BETA}; "
        f"{result['tensors_in_T']} tensors in T):"
    )
    print("| merge | entries with R(A) ≠ 0 in T | rounded away | share of ‖γR(A)‖₁ surviving |")
    print("| --- | --- | --- | --- |")
    for label, m in result["merges"].items():
        print(
            f"| {label} | {m['entries']:,} | {m['rounded_away']:,} "
            f"({100 * m['rounded_away_share']:.2f} %) | {100 * m['surviving_share']:.2f} % |"
        )
    precision = result["delta_precision"]
    print("\ndeltas of the bf16 checkpoints against the float32 masters' (relative L1):")
    print("| delta | median over tensors | largest | whole model |")
    print("| --- | --- | --- | --- |")
    for name in ("ra", "es", "r_lang"):
        d = precision[name]
        print(f"| {name} | {d['median']:.3g} | {d['max']:.3g} | {d['model']:.3g} |")
    changed = precision["merged_entries_changed"]
    print(
        f"T changed in {len(precision['T_changed'])} tensors; the bf16 merge differs in "
        f"{changed['changed']:,} of {changed['entries']:,} entries"
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--micro-batch", type=int, default=1)
    parser.add_argument("--accumulation", type=int, default=1)
    parser.add_argument("--vocab", type=int, default=4000)
    parser.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    parser.add_argument("--max-docs", type=int, default=None, help="documents per corpus")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoints")
    args = parser.parse_args(argv)
    if not (DATA / "gsm8k" / "train.jsonl").is_file():
        sys.exit(f"{DATA}: the shared data (gsm8k, flores_sib200) is not there")
    root = args.out / "work"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        result = run_pipeline(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    (args.out / "bench_numerics.json").write_text(json.dumps(result, indent=2) + "\n")
    print_summary(result)
    return result


if __name__ == "__main__":
    main()
