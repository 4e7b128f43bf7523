"""The demo world end to end through Snakemake, and what a config change makes it rerun.

One complete run (minutes) is shared by every test here; the rerun tests only plan.
"""

import copy
import json

import pandas as pd
import pytest
import torch
import transformers
from workflow_helpers import load_config, planned_jobs, snakemake, write_config

from maec.stats import accuracy_interval

pytestmark = pytest.mark.slow

DEMO = load_config("demo.yaml")
TRAINING_RULES = {"pretrain_backbone", "importance_cpt", "masked_cpt", "tokenize"}
MERGE_AND_LATER = {
    "merge",
    "diagnostics",  # reads the merge's rounding report
    "evaluate_mgsm",
    "evaluate_mmlu",
    "results_table",
    "all",
}


def test_demo_builds_a_loadable_merged_model(demo_run):
    workdir, _ = demo_run
    for ability in DEMO["abilities"]:
        assert (workdir / f"results/merged/{ability}.safetensors").stat().st_size > 0
        model = transformers.AutoModelForCausalLM.from_pretrained(
            workdir / f"results/merged/{ability}.hf"
        )
        backbone = transformers.AutoModelForCausalLM.from_pretrained(workdir / "results/backbone")
        assert model.dtype == backbone.dtype
        merged = dict(model.named_parameters())
        changed = [
            name
            for name, param in backbone.named_parameters()
            if not torch.equal(param, merged[name])
        ]
        assert changed, "the merge left every tensor of the backbone as it was"


def test_demo_results_table_has_a_row_per_model_and_language(demo_run):
    workdir, _ = demo_run
    table = pd.read_csv(workdir / "results/tables/results.csv", index_col=0)
    assert list(table.index) == ["backbone", "MAEC"]
    for lang in DEMO["evaluation"]["mgsm"]["languages"]:
        assert table[f"Math {lang.upper()}"].notna().all()
    for lang in DEMO["evaluation"]["mmlu"]["languages"]:
        assert table[f"Science {lang.upper()}"].notna().all()
    assert "ICER" in (workdir / "results/tables/results.md").read_text()
    scores = pd.read_csv(workdir / "results/tables/scores.csv")
    expected = {("backbone", "mgsm"), ("backbone", "mmlu"), ("MAEC", "mgsm"), ("MAEC", "mmlu")}
    assert set(zip(scores["model"], scores["bench"])) == expected
    for (_, bench), rows in scores.groupby(["model", "bench"]):
        assert sorted(rows["lang"]) == sorted(DEMO["evaluation"][bench]["languages"])
        assert (rows["n"] > 0).all()
    metric = scores["flexible_acc"].where(scores["bench"] == "mgsm", scores["acc"])
    assert (scores["ci_low"] <= metric).all() and (metric <= scores["ci_high"]).all()
    assert " ± " in (workdir / "results/tables/results.md").read_text()
    paired = pd.read_csv(workdir / "results/tables/results_paired.csv")
    assert set(zip(paired["first"], paired["second"])) == {("MAEC", "backbone")}
    assert (
        (paired["low"] <= paired["difference"]) & (paired["difference"] <= paired["high"])
    ).all()
    mcnemar = pd.read_csv(workdir / "results/tables/results_mcnemar.csv")
    assert mcnemar["p_value"].between(0, 1).all()


def test_demo_backbone_learns_the_one_fact_science_questions(demo_run):
    """The science benchmark discriminates: the backbone's general text holds the one-fact
    questions, and it answers them far above chance (25 %, the letters are balanced), with
    more than one letter. (With shuffled options it answered one letter to everything.)"""
    workdir, _ = demo_run
    lines = (workdir / "results/eval/backbone/mmlu_en.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    one_fact = [r["acc_correct"] for r in records if r["subject"] == "high_school_biology"]
    assert accuracy_interval(one_fact).low > 0.25
    assert len({r["acc_answer"] for r in records}) > 1


def test_demo_logs_every_job(demo_run):
    workdir, _ = demo_run
    logs = list((workdir / "logs").rglob("*.log"))
    assert len(logs) > 30
    assert all(log.stat().st_size > 0 for log in logs if "cpt" in str(log))


def _changed(mutate, workdir):
    config = copy.deepcopy(DEMO)
    mutate(config)
    return write_config(config, workdir, "changed.yaml")


def test_changing_gamma_reruns_only_merge_and_later(demo_run):
    workdir, _ = demo_run
    configfile = _changed(lambda c: c["merge"].update(gamma=c["merge"]["gamma"] + 0.1), workdir)
    plan = planned_jobs(workdir, configfile)
    assert plan.get("merge") == len(DEMO["abilities"])
    assert set(plan) <= MERGE_AND_LATER


def test_changing_merge_dtype_reruns_only_merge_and_later(demo_run):
    workdir, _ = demo_run
    configfile = _changed(lambda c: c["merge"].update(dtype="bfloat16"), workdir)
    plan = planned_jobs(workdir, configfile)
    assert plan.get("merge") == len(DEMO["abilities"])
    assert set(plan) <= MERGE_AND_LATER


def test_changing_k2_reruns_similarity_onwards(demo_run):
    workdir, _ = demo_run
    ability = next(iter(DEMO["abilities"]))
    configfile = _changed(
        lambda c: c["abilities"][ability].update(k2=round(1 - c["abilities"][ability]["k2"], 2)),
        workdir,
    )
    plan = planned_jobs(workdir, configfile)
    assert plan.get("tensor_similarity") == 1 and plan.get("merge") == 1
    assert not set(plan) & (TRAINING_RULES | {"key_neurons", "ability_weights"})


def test_changing_k1_reruns_masks_onwards_but_no_importance_cpt(demo_run):
    workdir, _ = demo_run
    configfile = _changed(lambda c: c["key_neurons"].update(k1=c["key_neurons"]["k1"] / 2), workdir)
    plan = planned_jobs(workdir, configfile)
    assert plan.get("key_neurons") == len(DEMO["languages"]) + 1 + len(DEMO["abilities"])
    assert plan.get("masked_cpt") and plan.get("merge")
    assert not set(plan) & {"importance_cpt", "tokenize", "pretrain_backbone"}


def test_changing_the_tie_seed_reruns_masks_onwards_but_no_importance_cpt(demo_run):
    workdir, _ = demo_run
    configfile = _changed(lambda c: c["key_neurons"].update(tie_seed=1), workdir)
    plan = planned_jobs(workdir, configfile)
    assert plan.get("key_neurons") == len(DEMO["languages"]) + 1 + len(DEMO["abilities"])
    assert not set(plan) & {"importance_cpt", "tokenize", "pretrain_backbone"}


@pytest.mark.reliability
def test_training_cadence_reruns_nothing_but_reaches_the_training_jobs(demo_run):
    workdir, _ = demo_run
    cadence = dict(micro_batch_size=8, save_every_steps=7, log_every_steps=3)  # batch kept
    configfile = _changed(lambda c: c["training"].update(cadence), workdir)
    assert planned_jobs(workdir, configfile) == {}
    forced = snakemake(workdir, configfile, "--dry-run", "--force", "results/cpt/general_en")
    assert "micro_batch_size=8, save_every_steps=7, log_every_steps=3" in forced.stdout


def test_the_diagnostics_report_the_rounding_of_the_merge(demo_run):
    workdir, _ = demo_run
    for ability in DEMO["abilities"]:
        table = pd.read_csv(workdir / f"results/tables/diagnostics_{ability}.csv")
        assert table["R_A_entries_in_T"].sum() > 0
        text = (workdir / f"results/tables/diagnostics_{ability}.md").read_text()
        assert text.startswith("Merged model written in float32")


def test_a_complete_run_plans_nothing(demo_run):
    workdir, configfile = demo_run
    assert planned_jobs(workdir, configfile) == {}
