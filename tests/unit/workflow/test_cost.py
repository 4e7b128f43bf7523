"""The cost plan: Snakemake's planned jobs read back, and each estimate against a hand count."""

import copy
import json
import math

import pytest
from helpers import REPO
from helpers.configs import shipped_config

from maec.workflow import cost
from maec.workflow.cost import Backbone, PlannedJob

PAPER = shipped_config("config.yaml")
DEMO = shipped_config("demo.yaml")
# A Snakemake dry run as it prints jobs (two of them, and the target rule without output).
DRY_RUN = """Building DAG of jobs...
[Sun Dec  6 21:24:37 2026]
rule baseline_cpt:
    input: results/backbone, results/tokens/math_en.npy
    output: results/baselines/lora/math_en
    log: logs/baselines/lora/math_en.log
    jobid: 24
    reason: Missing output files: results/baselines/lora/math_en
    wildcards: seed_dir=, tuning=lora, run=math_en
    resources: tmpdir=/tmp, gpu=8, runtime=2880, mem_mb=480000
[Sun Dec  6 21:24:37 2026]
localrule merge:
    input: results/backbone
    output: results/merged/math.safetensors, results/merged/math.hf, results/merged/math.json
    log: logs/merge/math.log
    jobid: 3
    wildcards: seed_dir=, ability=math
    resources: tmpdir=/tmp, gpu=0, runtime=240
[Sun Dec  6 21:24:37 2026]
localrule all:
    input: results/merged/math.safetensors
    jobid: 0
Job stats:
"""
LLAMA_8B = Backbone(parameters=8_030_261_248, layers=32, hidden=4096, dtype_bytes=2, vocab=128256)


def test_planned_jobs_are_read_from_a_dry_run():
    lora, merge = cost.planned_jobs(DRY_RUN)
    assert lora == PlannedJob(
        rule="baseline_cpt",
        outputs=("results/baselines/lora/math_en",),
        wildcards={"seed_dir": "", "tuning": "lora", "run": "math_en"},
        resources={"tmpdir": "/tmp", "gpu": "8", "runtime": "2880", "mem_mb": "480000"},
    )
    assert merge.rule == "merge" and len(merge.outputs) == 3


def test_parameters_are_counted_exactly_on_the_meta_device():
    config = json.loads((REPO / "config/backbones/meta-llama-3-8b.json").read_text())
    assert cost.backbone_of(config) == LLAMA_8B
    d, inter, vocab, layers, kv = 4096, 14336, 128256, 32, 8 * 128
    by_hand = 2 * vocab * d + layers * (2 * d * d + 2 * d * kv + 3 * d * inter + 2 * d) + d
    assert LLAMA_8B.parameters == by_hand
    qwen = json.loads((REPO / "config/backbones/qwen2.5-0.5b.json").read_text())
    assert cost.backbone_of(qwen).parameters == 494_032_768  # tied, with q/k/v biases


def test_flops_per_token_and_gpu_hours_by_hand():
    assert cost.flops_per_token(LLAMA_8B, 4096) == 6 * 8_030_261_248 + 12 * 32 * 4096 * 4096
    assert (
        cost.flops_per_token(LLAMA_8B, 4096, lora=True) == 4 * 8_030_261_248 + 12 * 32 * 4096 * 4096
    )
    job = PlannedJob("masked_cpt", ("results/cpt/general_en",), {"run": "general_en"})
    flops = 2e9 * cost.flops_per_token(LLAMA_8B, PAPER["tokenize"]["block_size"])
    assert cost.gpu_hours(PAPER, LLAMA_8B, job) == pytest.approx(flops / (989e12 * 0.4) / 3600)
    assert cost.gpu_hours(PAPER, LLAMA_8B, PlannedJob("merge", ("x",))) == 0


def test_training_tokens_follow_each_rules_budget():
    def tokens(rule, **wildcards):
        return cost.training_tokens(PAPER, PlannedJob(rule, ("x",), wildcards))

    assert tokens("importance_cpt") == PAPER["importance_cpt"]["tokens"]
    assert tokens("masked_cpt") == tokens("full_cpt") == 2_000_000_000
    budgets = PAPER["experiments"]["baselines"]["tokens"]
    assert tokens("baseline_cpt", tuning="full", run="math_en") == budgets["fcpt_a"]
    general = "+".join(f"general_{lang}" for lang in ["en", "es", "zh", "bn", "te"])
    assert tokens("baseline_cpt", tuning="lora", run=general) == budgets["lcpt_l"]
    assert tokens("domain_adaptation", tuning="full") == budgets["fcpt_l_da"]
    assert tokens("evaluate_mgsm") == 0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("results/importance/math_en", 2 * 8_030_261_248 + 4 * 8_030_261_248),  # with masters
        ("results/cpt/general_en", 2 * 8_030_261_248),
        ("results/masks/math_en.safetensors", 8_030_261_248 / 8),
        ("results/deltas/r_lang.safetensors", 2 * 8_030_261_248),  # deltas.dtype bfloat16
        ("results/merged/math.safetensors", 2 * 8_030_261_248),
        ("results/merged/math.hf", 0),  # hard links to the weights
        ("results/merged/math/k2-0.6.safetensors", 2 * 8_030_261_248),
        ("results/merged/math/k2-0.6.hf", 0),
        ("results/tokens/math_en.npy", 4 * 2_000_000_000),  # a vocabulary over 65,536
        ("results/eval/maec_math/mgsm_bn.json", 0),
    ],
)
def test_bytes_of_each_kind_of_output(path, expected):
    assert cost.output_bytes(PAPER, LLAMA_8B, path) == expected


def test_float32_deltas_keep_the_runs_masters_and_an_unbounded_corpus_is_unknown():
    config = copy.deepcopy(PAPER)
    config["deltas"]["precision"] = "float32"
    config["tokenize"]["max_tokens"] = None
    assert cost.output_bytes(config, LLAMA_8B, "results/cpt/general_en") == 6 * 8_030_261_248
    assert math.isnan(cost.output_bytes(config, LLAMA_8B, "results/tokens/general_en.npy"))


def test_a_job_longer_than_its_runtime_needs_resume_and_totals_add_up():
    jobs = cost.job_costs(PAPER, LLAMA_8B, cost.planned_jobs(DRY_RUN))
    lora = jobs.iloc[0]
    assert lora["tokens"] == PAPER["experiments"]["baselines"]["tokens"]["lcpt_a"]
    assert lora["estimated"] and lora["wall_hours"] == pytest.approx(lora["gpu_hours"] / 8)
    assert lora["needs_resume"] == (lora["wall_hours"] > 48)
    merge = jobs.iloc[1]
    assert not merge["estimated"] and merge["gpu_hours"] == 0  # a CPU job books no GPU
    assert merge["bytes_written"] == 2 * 8_030_261_248
    table = cost.per_rule(jobs)
    assert table.loc["total", "bytes_written"] == jobs["bytes_written"].sum()
    assert table.loc["total", "jobs"] == 2
    text = cost.cost_markdown("paper", jobs, LLAMA_8B, PAPER)
    assert "| baseline_cpt | 1 |" in text and "8.03 B parameters" in text


def test_an_intermediate_is_written_and_not_kept_when_the_config_deletes_it():
    delta = "results/deltas/ability/math.safetensors"
    dry_run = f"""rule ability_weights:
    output: {delta}, {delta}.lineage.json
    wildcards: seed_dir=, ability=math, deltas=deltas
    resources: tmpdir=/tmp, gpu=0, runtime=240
rule importance_cpt:
    output: results/importance/math_en, results/importance/math_en.lineage.json
    wildcards: seed_dir=, corpus=math_en
    resources: tmpdir=/tmp, gpu=8, runtime=2880
"""
    n = 8_030_261_248
    deleting = copy.deepcopy(PAPER) | {"keep_intermediates": False}
    jobs = cost.job_costs(deleting, LLAMA_8B, cost.planned_jobs(dry_run))
    assert list(jobs["bytes_written"]) == [2 * n, 2 * n + 4 * n]  # masters beside the run
    assert list(jobs["bytes_kept"]) == [0, 0]
    jobs = cost.job_costs(PAPER, LLAMA_8B, cost.planned_jobs(dry_run))  # kept by default
    assert list(jobs["bytes_kept"]) == list(jobs["bytes_written"])
    text = cost.cost_markdown("paper", jobs, LLAMA_8B, PAPER)
    assert "| written | kept |" in text and "every output is kept" in text


def test_the_demo_worlds_backbone_comes_from_its_config(tmp_path):
    model = cost.backbone_config(DEMO, tmp_path, None)
    assert model["hidden_size"] == DEMO["world"]["model"]["hidden_size"]
    with pytest.raises(FileNotFoundError, match="--backbone-config"):
        cost.backbone_config(PAPER, tmp_path, None)
