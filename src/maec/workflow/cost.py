"""What a target costs before it runs: for every job Snakemake plans, its training tokens,
GPU hours and the bytes it writes; totals per rule and for the target; the jobs whose
estimate exceeds their runtime limit (`resources.*.runtime`) and will need resume.

    python -m maec.workflow.cost --configfile config/config.yaml experiments

The jobs are Snakemake's own plan (`snakemake --dry-run --forceall`, parsed by `planned_jobs`).
The estimates, documented in docs/training.md ("What a run costs"):
- **parameters** N, exactly, from the backbone's config.json (the model built on the meta
  device, no memory); its dtype gives a checkpoint's bytes.
- **training FLOPs per token**: 6N + 12·L·d·s (forward and backward through every weight,
  and attention over blocks of s tokens: PaLM's accounting, appendix B); a LoRA run computes
  no weight gradients of the frozen model: 4N + 12·L·d·s.
- **GPU hours** = tokens · FLOPs per token / (`cost.peak_tflops` · `cost.mfu`); a job's wall
  time is that over its GPUs. Evaluations, merges and tables train nothing: their GPU hours
  are the hours they book (runtime limit · GPUs), an upper bound.
- **bytes written**: a checkpoint N · its dtype's bytes (float32 masters 4N beside the runs
  that keep them), a mask a bit per entry (at most N/8 bytes), a token file its tokens · 2
  or 4 bytes, a model directory beside a merge's weights nothing (hard links); tables,
  scores and logs count as 0.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from maec.io.atomic import atomic_file, write_text
from maec.workflow.intermediates import deleted_after_use
from maec.workflow.models import Adaptation, baseline_of_run, find_kind
from maec.workflow.paths import BACKBONE, BACKBONE_INIT, parse_path

REPO = Path(__file__).resolve().parents[3]

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class PlannedJob:
    """One job of Snakemake's plan: its rule, outputs, wildcards and resources."""

    rule: str
    outputs: tuple[str, ...]
    wildcards: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)


_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_FIELD = re.compile(r"^    (\w+): (.*)$")


def _pairs(text: str) -> dict[str, str]:
    """`a=1, b=x` (a job's wildcards or resources as Snakemake prints them)."""
    pairs = {}
    for item in text.split(", "):
        key, _, value = item.partition("=")
        pairs[key] = value
    return pairs


def planned_jobs(dry_run: str) -> list[PlannedJob]:
    """The jobs of a `snakemake --dry-run` listing (its `rule name:` blocks); the target rule,
    which has no output, is left out."""
    jobs, current = [], None
    for line in dry_run.splitlines():
        if match := _RULE.match(line):
            current = {"rule": match.group(1)}
            jobs.append(current)
        elif current is not None and (match := _FIELD.match(line)):
            current[match.group(1)] = match.group(2)
        elif not line.startswith("    "):
            current = None
    return [
        PlannedJob(
            rule=job["rule"],
            outputs=tuple(job["output"].split(", ")),
            wildcards=_pairs(job.get("wildcards", "")) if "wildcards" in job else {},
            resources=_pairs(job.get("resources", "")) if "resources" in job else {},
        )
        for job in jobs
        if "output" in job
    ]


# ---- the backbone -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Backbone:
    """What the estimates need of the backbone: parameters, layers, hidden size, the bytes of
    one of its parameters as stored, and its vocabulary (a token's bytes in a token file)."""

    parameters: int
    layers: int
    hidden: int
    dtype_bytes: int
    vocab: int


def backbone_of(model_config: dict) -> Backbone:
    """The backbone a config.json describes, its parameters counted on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(**model_config)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    dtype = model_config.get("dtype") or model_config.get("torch_dtype") or "float32"
    text = config.get_text_config()
    return Backbone(
        parameters=sum(p.numel() for p in model.parameters()),
        layers=text.num_hidden_layers,
        hidden=text.hidden_size,
        dtype_bytes=_DTYPE_BYTES[dtype],
        vocab=text.vocab_size,
    )


# ---- training -----------------------------------------------------------------------------------

TRAINING_RULES = {
    "pretrain_backbone": lambda config, w: config["world"]["pretrain"]["tokens"],
    "importance_cpt": lambda config, w: config["importance_cpt"]["tokens"],
    "masked_cpt": lambda config, w: config["masked_cpt"]["tokens"],
    "full_cpt": lambda config, w: config["masked_cpt"]["tokens"],
    "baseline_cpt": lambda config, w: baseline_of_run(config, w["tuning"], w["run"]).tokens(config),
    "domain_adaptation": lambda config, w: find_kind(Adaptation, tuning=w["tuning"]).tokens(config),
}


def training_tokens(config, job: PlannedJob) -> int:
    """The tokens a job trains on (0 for a job that trains nothing)."""
    tokens = TRAINING_RULES.get(job.rule)
    return tokens(config, job.wildcards) if tokens else 0


def flops_per_token(backbone: Backbone, block_size: int, lora: bool = False) -> float:
    weights = (4 if lora else 6) * backbone.parameters
    return weights + 12 * backbone.layers * backbone.hidden * block_size


def _is_lora(job: PlannedJob) -> bool:
    return job.wildcards.get("tuning") == "lora"


def gpu_hours(config, backbone: Backbone, job: PlannedJob) -> float:
    """The GPU hours of a training job's compute (see the module's docstring); 0 for others."""
    tokens = training_tokens(config, job)
    if not tokens:
        return 0.0
    block = config["tokenize"]["block_size"]
    flops = tokens * flops_per_token(backbone, block, _is_lora(job))
    return flops / (config["cost"]["peak_tflops"] * 1e12 * config["cost"]["mfu"]) / 3600


# ---- bytes ------------------------------------------------------------------------------------


def _keeps_masters(config, template: str) -> bool:
    if template == "importance":
        return True
    return template in ("cpt", "cpt_full") and config["deltas"]["precision"] == "float32"


def _token_file_bytes(config, backbone: Backbone) -> float:
    """A token file's bytes: tokenize.max_tokens tokens of 2 bytes (4 above a 65,536-word
    vocabulary, as `maec.data.tokens` stores them); NaN when the corpus is read whole (its
    size is not known before)."""
    tokens = config["tokenize"]["max_tokens"]
    if tokens is None:
        return math.nan
    return tokens * (2 if backbone.vocab <= 1 << 16 else 4)


def output_bytes(config, backbone: Backbone, path: str) -> float:
    """The bytes a job's output will hold (see the module's docstring)."""
    n = backbone.parameters
    try:
        template, fields = parse_path(path)
    except ValueError:
        template, fields = "", {}
    if template in ("importance", "cpt", "cpt_full", "baseline", "adaptation"):
        return n * backbone.dtype_bytes + (4 * n if _keeps_masters(config, template) else 0)
    if template in ("mask", "union_mask"):
        return n / 8  # a bit per entry, at most every entry eligible
    if template in ("ability_delta", "language_delta", "r_lang", "r_lang_mu", "ability_pack"):
        return n * _DTYPE_BYTES[config["deltas"]["dtype"]]
    if template == "token_blocks":
        return _token_file_bytes(config, backbone)
    weights = path.endswith(".safetensors") or path in (BACKBONE, BACKBONE_INIT)
    if template in ("merged", "merge_variant", "task_vectors", "combined_task_vectors"):
        weights = fields.get("suffix") == ".safetensors"
    if template == "layer_swap" or path.startswith("results/reference/"):
        weights = True  # written whole, no weights file of its own beside
    if weights:
        dtype = config["merge"]["dtype"]
        return n * (_DTYPE_BYTES[dtype] if dtype else backbone.dtype_bytes)
    return 0


# ---- the plan ---------------------------------------------------------------------------------


def job_costs(config, backbone: Backbone, jobs: list[PlannedJob]) -> pd.DataFrame:
    """One row per job: rule, first output, tokens, GPUs, GPU hours (`estimated`: computed
    from its training FLOPs; else the hours it books), its estimated wall hours and runtime
    limit, whether it needs resume, and the bytes it writes."""
    rows = []
    for job in jobs:
        gpus = int(job.resources.get("gpu") or 0)
        runtime = int(job.resources.get("runtime") or 0)  # minutes
        hours = gpu_hours(config, backbone, job)
        wall = hours / gpus if gpus else 0.0
        rows.append(
            dict(
                rule=job.rule,
                output=job.outputs[0],
                tokens=training_tokens(config, job),
                gpus=gpus,
                gpu_hours=hours if hours else gpus * runtime / 60,
                estimated=bool(hours),
                wall_hours=wall,
                runtime_hours=runtime / 60,
                needs_resume=wall * 60 > runtime > 0,
                bytes_written=sum(output_bytes(config, backbone, p) for p in job.outputs),
                bytes_kept=sum(
                    output_bytes(config, backbone, p)
                    for p in job.outputs
                    if not deleted_after_use(config, p)
                ),
            )
        )
    return pd.DataFrame(rows)


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs, tokens, GPU hours, bytes and jobs that need resume per rule, and a total row."""
    table = jobs.groupby("rule", sort=False).agg(
        jobs=("output", "size"),
        tokens=("tokens", "sum"),
        gpu_hours=("gpu_hours", "sum"),
        bytes_written=("bytes_written", lambda b: b.sum(min_count=1)),
        bytes_kept=("bytes_kept", lambda b: b.sum(min_count=1)),
        need_resume=("needs_resume", "sum"),
    )
    table = table.sort_values("gpu_hours", ascending=False, kind="stable")
    total = table.sum(numeric_only=True, min_count=1)
    return pd.concat([table, pd.DataFrame([total], index=["total"])])


def _size(value: float) -> str:
    if math.isnan(value):
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _kept_note(config) -> str:
    if config["keep_intermediates"]:
        return "keep_intermediates: every output is kept"
    return "the intermediates of maec.workflow.intermediates are deleted after use"


def cost_markdown(title: str, jobs: pd.DataFrame, backbone: Backbone, config) -> str:
    """The cost plan as Markdown: the assumptions, the table per rule, the jobs that need
    resume."""
    rules = per_rule(jobs)
    settings = config["cost"]
    lines = [
        f"# Cost plan: {title}",
        "",
        f"{len(jobs)} jobs. Backbone: {backbone.parameters / 1e9:.2f} B parameters, "
        f"{backbone.layers} layers, hidden size {backbone.hidden}. GPU hours of training jobs "
        f"from 6N + 12·L·d·s FLOPs per token at {settings['peak_tflops']} TFLOPS × MFU "
        f"{settings['mfu']}; of other GPU jobs, the hours they book (runtime × GPUs). "
        "Bytes: what each job writes, and what is left of it after the run "
        f"({_kept_note(config)}).",
        "",
        "| rule | jobs | tokens (B) | GPU hours | written | kept | need resume |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rule, row in rules.iterrows():
        lines.append(
            f"| {rule} | {row['jobs']:.0f} | {row['tokens'] / 1e9:.2f} | {row['gpu_hours']:,.1f} "
            f"| {_size(row['bytes_written'])} | {_size(row['bytes_kept'])} "
            f"| {row['need_resume']:.0f} |"
        )
    resume = jobs[jobs["needs_resume"]]
    if len(resume):
        lines += ["", "Jobs whose estimate exceeds their runtime limit (they resume):", ""]
        lines += [
            f"- `{row.output}` ({row.rule}): {row.wall_hours:.1f} h on {row.gpus} GPUs, "
            f"limit {row.runtime_hours:.0f} h"
            for row in resume.itertuples()
        ]
    return "\n".join(lines) + "\n"


# ---- the command ------------------------------------------------------------------------------


def dry_run(configfile: Path, targets: list[str], directory: Path) -> str:
    """Snakemake's plan of every job of the targets (`--forceall`: as if nothing existed)."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--configfile", str(configfile.resolve()), "--replace-workflow-config",
        "--directory", str(directory), "--dry-run", "--forceall", "--cores", "1", *targets,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"snakemake could not plan {targets}:\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def backbone_config(config, directory: Path, given: Path | None) -> dict:
    """The backbone's config.json: the one given, the downloaded backbone's, or the demo
    world's; else an error that says where one comes from."""
    if given is not None:
        return json.loads(given.read_text())
    if (directory / BACKBONE / "config.json").is_file():
        return json.loads((directory / BACKBONE / "config.json").read_text())
    if "world" in config:
        from maec.world.backbone import backbone_config as world_config

        model = config["world"]["model"]
        return world_config(config["world"]["tokenizer"]["vocab_size"], **model).to_dict()
    raise FileNotFoundError(
        f"no {directory / BACKBONE}/config.json: give the backbone's config.json with "
        f"--backbone-config (config/backbones/ has {config['backbone']}'s kind)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maec.workflow.cost", description=__doc__)
    parser.add_argument("targets", nargs="*", help="Snakemake targets (default: the default)")
    parser.add_argument("--configfile", type=Path, required=True)
    parser.add_argument("--directory", type=Path, default=Path("."))
    parser.add_argument("--backbone-config", type=Path, help="the backbone's config.json")
    parser.add_argument("--out", type=Path, default=Path("results/plan"))
    args = parser.parse_args(argv)
    from snakemake.utils import validate

    config = yaml.safe_load(args.configfile.read_text())
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    backbone = backbone_of(backbone_config(config, args.directory, args.backbone_config))
    jobs = job_costs(
        config, backbone, planned_jobs(dry_run(args.configfile, args.targets, args.directory))
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_file(args.out / "cost.csv") as handle:
        jobs.to_csv(handle, index=False)
    title = f"{args.configfile} {' '.join(args.targets) or '(default target)'}"
    markdown = cost_markdown(title, jobs, backbone, config)
    write_text(args.out / "cost.md", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
