"""The demo world end to end through Snakemake, and what a config change makes it rerun.

One complete run (minutes) is shared by every test here; the rerun tests only plan.
"""

import copy
import json
import math
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
import transformers
import yaml
from helpers import REPO
from helpers.configs import SCHEMA, overlaid
from helpers.workflow import load_config, planned_jobs, snakemake, write_config
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from snakemake.utils import validate

from maec.combination.similarity import selected_tensors
from maec.combination.variant import variant_similarity, write_variant_merge
from maec.evaluation.generation import load_model
from maec.evaluation.mgsm import evaluate_mgsm_languages
from maec.evaluation.mmlu import evaluate_mmlu_languages
from maec.evaluation.on_load import MergedOnLoad
from maec.io.hf_dir import write_hf_directory
from maec.io.lineage import content_files
from maec.report.stats import accuracy_interval
from maec.workflow import cost, intermediates, variants
from maec.workflow.scores import benchmark_of

DEMO = load_config("demo.yaml")
TRAINING_RULES = {"pretrain_backbone", "importance_cpt", "masked_cpt", "tokenize"}
MERGE_AND_LATER = {
    "merge",
    "diagnostics",  # reads the merge's rounding report
    "evaluate_mgsm",
    "evaluate_mmlu",
    "results_table",
    "results_figure",
    "model_card",
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


def test_each_maec_model_has_a_card_the_hub_loads_and_its_provenance(demo_run):
    workdir, _ = demo_run
    scores = pd.read_csv(workdir / "results/tables/scores.csv")
    for ability, spec in DEMO["abilities"].items():
        model_dir = workdir / f"results/merged/{ability}.hf"
        card = ModelCard.load(model_dir / "README.md")
        assert card.content == (workdir / f"results/cards/maec_{ability}.md").read_text()
        data = card.data
        assert data.base_model == "results/backbone"  # the demo world's own backbone
        assert data.to_dict()["base_model_relation"] == "merge"
        assert data.language == [DEMO["reference_language"], *DEMO["languages"]]
        assert "maec" in data.tags
        bench = spec["benchmark"]
        metric = "flexible_acc" if bench == "mgsm" else "acc"
        maec = scores[(scores["model"] == "MAEC") & (scores["bench"] == bench)]
        assert {(r.dataset_config, r.metric_value) for r in data.eval_results} == {
            (row.lang, round(100 * row[metric], 2)) for _, row in maec.iterrows()
        }
        provenance = json.loads((model_dir / "provenance.json").read_text())
        assert provenance["settings"]["key_neurons"]["k1"] == DEMO["key_neurons"]["k1"]
        masks = [s for s in provenance["lineage"] if s["path"].startswith("results/masks/")]
        k1s = {s["record"]["k1"] for s in masks if s["record"] and "k1" in s["record"]}
        assert k1s == {DEMO["key_neurons"]["k1"]}  # as each mask recorded it
        steps = {s["path"] for s in provenance["lineage"]}
        assert {
            "results/deltas/r_lang.safetensors",
            "results/backbone",
            f"results/tokens/{ability}_{DEMO['reference_language']}.npy",
        } <= steps
        assert provenance["environment"]["workflow"]["commit"]


def test_inspect_verify_names_a_changed_byte_of_r_lang(demo_run):
    workdir, _ = demo_run
    r_lang = workdir / "results/deltas/r_lang.safetensors"
    inspect = [sys.executable, "-m", "maec", "inspect", "results/merged/math.hf", "--verify"]
    times, data = r_lang.stat(), r_lang.read_bytes()
    try:
        r_lang.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        proc = subprocess.run(inspect, cwd=workdir, capture_output=True, text=True)
    finally:  # the shared run's file as it was, its time too
        r_lang.write_bytes(data)
        os.utime(r_lang, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert proc.returncode == 1, proc.stderr
    assert "CHANGED: results/deltas/r_lang.safetensors" in proc.stdout
    assert "1 changed" in proc.stdout
    again = subprocess.run(inspect, cwd=workdir, capture_output=True, text=True)
    assert again.returncode == 0 and "0 changed, 0 gone" in again.stdout


def test_the_cost_plan_estimates_the_checkpoints_the_demo_wrote(demo_run):
    """The cost plan of the default target, as planned before anything ran (--forceall),
    against what the run wrote: each checkpoint within a few percent (its config and
    tokenizer files beside), each mask at most its estimate (a bit per eligible entry)."""
    workdir, configfile = demo_run
    out = workdir / "plan"
    args = ["--configfile", str(configfile), "--directory", str(workdir), "--out", str(out)]
    assert cost.main(args) == 0
    jobs = pd.read_csv(out / "cost.csv")
    estimated = jobs[jobs["bytes_written"] > 0]
    assert len(estimated) >= 30
    for row in estimated.itertuples():
        actual = sum(f.stat().st_size for f in content_files(workdir / row.output))
        if "/masks/" in row.output:
            assert actual <= row.bytes_written, row.output
        else:
            assert 0.97 <= actual / row.bytes_written <= 1.05, row.output
    assert "| total |" in (out / "cost.md").read_text()


def _outputs(workdir):
    """Every file and directory under results/, relative to the working directory."""
    return {str(p.relative_to(workdir)) for p in (workdir / "results").rglob("*")}


def test_a_run_that_deletes_its_intermediates_keeps_the_rest_and_remakes_only_deltas(
    demo_run, tmp_path
):
    """keep_intermediates off, on a copy of the demo run: Snakemake deletes the importance
    runs and the dense deltas once read and nothing else; the cost plan said which; the cards
    follow their lineage through the records left beside them; nothing is planned again; and
    a change of the merge remakes the deltas from the kept runs without training."""
    local, _ = demo_run
    workdir = tmp_path / "deleting"
    shutil.copytree(local / "results", workdir / "results")
    shutil.copytree(local / ".snakemake" / "metadata", workdir / ".snakemake" / "metadata")
    config = copy.deepcopy(DEMO) | {"keep_intermediates": False}
    configfile = write_config(config, workdir)
    # Figure 5b/c reads the importance runs: made before they go. The cards' params now
    # name what is deleted.
    assert planned_jobs(workdir, configfile) == {"update_similarity": 1, "model_card": 2, "all": 1}
    before = _outputs(workdir)
    beside = intermediates.records_of_deleted(intermediates.INTERMEDIATES)
    deleted = {p for p in before if beside(p)}  # the outputs and what they hold
    assert {p.split("/")[1] for p in deleted} == {"importance", "deltas"}
    snakemake(workdir, configfile, "--cores", "2")
    snakemake(workdir, configfile, "--cores", "1", "--delete-temp-output")
    after = _outputs(workdir)
    assert before - after == deleted
    assert {beside(p) for p in deleted} <= after  # each output's record stays
    assert planned_jobs(workdir, configfile) == {}

    out = workdir / "plan"
    args = ["--configfile", str(configfile), "--directory", str(workdir), "--out", str(out)]
    assert cost.main(args) == 0
    for row in pd.read_csv(out / "cost.csv").itertuples():
        if row.bytes_written > 0:
            assert (workdir / row.output).exists() == (row.bytes_kept > 0), row.output

    provenance = json.loads((workdir / "results/merged/math.hf/provenance.json").read_text())
    steps = {s["path"]: s for s in provenance["lineage"]}
    assert steps["results/deltas/r_lang.safetensors"]["deleted_after_use"]
    importance = steps["results/importance/math_en/fp32_master"]  # as the mask names it
    assert importance["deleted_after_use"] and importance["record"]["args"]["world_size"] == 1
    assert any(p.startswith("results/cpt/") for p in steps)  # reached through R(A)'s record

    config["merge"]["gamma"] += 0.1
    plan = planned_jobs(workdir, write_config(config, workdir, "changed.yaml"))
    assert {"ability_weights", "language_weights", "r_lang", "merge"} <= set(plan)
    assert not set(plan) & (TRAINING_RULES | {"key_neurons", "update_similarity"})


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
    assert plan.get("model_card") == len(DEMO["abilities"])  # the cards record k1
    assert not set(plan) & {"importance_cpt", "tokenize", "pretrain_backbone"}


def test_changing_the_tie_seed_reruns_masks_onwards_but_no_importance_cpt(demo_run):
    workdir, _ = demo_run
    configfile = _changed(lambda c: c["key_neurons"].update(tie_seed=1), workdir)
    plan = planned_jobs(workdir, configfile)
    assert plan.get("key_neurons") == len(DEMO["languages"]) + 1 + len(DEMO["abilities"])
    assert not set(plan) & {"importance_cpt", "tokenize", "pretrain_backbone"}


def test_adding_a_seed_plans_only_that_seeds_jobs_and_the_table(demo_run):
    workdir, _ = demo_run
    configfile = _changed(lambda c: c.update(seeds=2), workdir)
    abilities, languages = len(DEMO["abilities"]), len(DEMO["languages"])
    corpora = 1 + languages + abilities
    assert planned_jobs(workdir, configfile) == {
        "importance_cpt": corpora,
        "key_neurons": corpora,
        "mask_union": languages + abilities,
        "masked_cpt": corpora,
        "ability_weights": abilities,
        "language_weights": languages,
        "r_lang": 1,
        "tensor_similarity": abilities,
        "merge": abilities,
        "evaluate_mgsm": 1,  # the second seed's math model; the backbone is scored once
        "evaluate_mmlu": 1,
        "results_table": 1,
        "results_figure": abilities,
        "model_card": abilities,
        "all": 1,
    }


def test_an_ability_scored_through_harness_tasks_end_to_end(demo_run, tmp_path):
    """config/examples/demo-science-harness.yaml over the demo, in a copy of the finished
    run: science is scored by lm-evaluation-harness's multiple-choice tasks, one per language.
    Only the evaluations and what reads them run; results.md shows the benchmark's columns
    with their intervals; its records give our MMLU scorer's verdicts (zero-shot)."""
    workdir = tmp_path / "harness"
    configfile = _harness_copy(demo_run, workdir, "examples/demo-science-harness.yaml")
    plan = planned_jobs(workdir, configfile)
    assert plan["evaluate_worldsci"] == 2  # the backbone and the science MAEC model
    assert not set(plan) & (TRAINING_RULES | {"merge", "evaluate_mgsm", "evaluate_mmlu"})
    snakemake(workdir, configfile, "--cores", "2")

    languages = DEMO["evaluation"]["mmlu"]["languages"]
    table = pd.read_csv(workdir / "results/tables/results.csv", index_col=0)
    average = f"worldsci Avg ({'+'.join(lang.upper() for lang in languages)})"
    assert table[[f"worldsci {lang.upper()}" for lang in languages] + [average]].notna().all().all()
    assert not [column for column in table.columns if column.startswith("Science")]
    markdown = (workdir / "results/tables/results.md").read_text()
    assert "worldsci ES" in markdown and " ± " in markdown
    intervals = pd.read_csv(workdir / "results/tables/results_intervals.csv")
    assert set(intervals.loc[intervals["bench"] == "worldsci", "lang"]) == {*languages, "avg"}
    paired = pd.read_csv(workdir / "results/tables/results_paired.csv")
    assert "worldsci" in set(paired["bench"])

    # per item, the harness's verdicts are our MMLU scorer's on the same questions
    test = workdir / "results/world/mmlu/es_test.json"
    ours = evaluate_mmlu_languages(
        str(workdir / "results/backbone"),
        ["es"],
        [test],
        [test],
        [tmp_path / "ours.jsonl"],
        [tmp_path / "ours.json"],
        n_shots=0,
        batch_size=32,
        device="cpu",
    )[0]
    records = workdir / "results/eval/backbone/worldsci_es.jsonl"
    harness = [json.loads(line) for line in records.open()]
    mine = [json.loads(line) for line in (tmp_path / "ours.jsonl").open()]
    assert [r["acc_correct"] for r in harness] == [r["acc_correct"] for r in mine]
    score = json.loads((workdir / "results/eval/backbone/worldsci_es.json").read_text())
    assert score["n"] == ours["n"] and score["acc"] == pytest.approx(ours["acc"])

    # the selection scores the grid on the benchmark's dev tasks (the world's held-out
    # questions), each variant merged on load
    selection = "results/tables/selection_science.md"
    plan = planned_jobs(workdir, configfile, selection)
    grid = plan["evaluate_worldsci_dev"]
    assert grid >= 2 and not set(plan) & {"evaluate_mmlu_dev", "evaluate_mmlu"}
    snakemake(workdir, configfile, selection, "--cores", "2")
    dev_scores = list((workdir / "results/eval-dev").glob("*/worldsci_es.json"))
    assert len(dev_scores) == grid
    val = json.loads((workdir / "results/world/mmlu/es_val.json").read_text())
    assert {json.loads(p.read_text())["n"] for p in dev_scores} == {len(val)}
    assert "worldsci" in (workdir / selection).read_text()


def _harness_copy(demo_run, workdir, overlay):
    """A copy of the finished demo run (results and Snakemake's records) with `overlay`
    laid over the demo's config."""
    local, _ = demo_run
    shutil.copytree(local / "results", workdir / "results")
    shutil.copytree(local / ".snakemake" / "metadata", workdir / ".snakemake" / "metadata")
    return write_config(overlaid(DEMO, overlay), workdir)


def test_math_scored_by_harness_tasks_that_replicate_mgsm_gives_the_same_table(demo_run, tmp_path):
    """config/examples/demo-math-harness.yaml: MGSM as harness tasks of one's own (the
    scorer's questions, prompts and verdicts; the harness generates) gives every question
    the built-in scorer's verdict, and results.md the same numbers and intervals under the
    benchmark's name."""
    local, _ = demo_run
    workdir = tmp_path / "replica"
    configfile = _harness_copy(demo_run, workdir, "examples/demo-math-harness.yaml")
    config = yaml.safe_load(configfile.read_text())
    bench = config["evaluation"]["harness"]["mgsmreplica"]
    bench["task_dir"] = str(REPO / bench["task_dir"])
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    plan = planned_jobs(workdir, configfile)
    assert plan["evaluate_mgsmreplica"] == 2  # the backbone and the math MAEC model
    assert not set(plan) & (TRAINING_RULES | {"merge", "evaluate_mgsm", "evaluate_mmlu"})
    snakemake(workdir, configfile, "--cores", "2")

    for model in ("backbone", "maec_math"):
        for lang in DEMO["evaluation"]["mgsm"]["languages"]:
            built_in = local / f"results/eval/{model}/mgsm_{lang}.jsonl"
            replica = workdir / f"results/eval/{model}/mgsmreplica_{lang}.jsonl"
            verdicts = [
                [(r["source"], r["flexible_correct"]) for r in map(json.loads, path.open())]
                for path in (built_in, replica)
            ]
            assert verdicts[0] == verdicts[1], (model, lang)
    tables = [
        (directory / "results/tables/results.md").read_text() for directory in (local, workdir)
    ]
    assert tables[1].replace("mgsmreplica ", "Math ") == tables[0]
    assert "mgsmreplica Avg" in tables[1]


# Two seeds on the smallest method that shows their spread: math, one target language (es).
# The world, the backbone and the first seed's runs are the demo run's: Snakemake reruns on
# modification times only, so the world (whose params name every language) is kept, and the
# first seed's R_Lang, which sums fewer languages now, is forced. The second seed trains the
# importance and masked CPT runs of en, es and math once more.
TWO_SEEDS = {"seeds": 2, "languages": ["es"]}
KEEP_THE_DEMO_RUN = ("--rerun-triggers", "mtime", "--forcerun", "r_lang")


@pytest.fixture(scope="module")
def two_seed_run(demo_run, tmp_path_factory):
    local, _ = demo_run
    workdir = tmp_path_factory.mktemp("two_seeds")
    shutil.copytree(local / "results", workdir / "results")
    shutil.copytree(local / ".snakemake" / "metadata", workdir / ".snakemake" / "metadata")
    config = copy.deepcopy(DEMO) | TWO_SEEDS
    config["abilities"] = {"math": config["abilities"]["math"]}
    math_corpora = config["abilities"]["math"]["translated_corpora"]
    config["abilities"]["math"]["translated_corpora"] = {"es": math_corpora["es"]}
    config["language_weights"]["mu"] = {"es": DEMO["language_weights"]["mu"]["es"]}
    for bench in ("mgsm", "mmlu"):  # the world scores only the languages it builds
        config["evaluation"][bench]["languages"] = ["en", "es"]
    configfile = write_config(config, workdir)
    targets = ["results/tables/results.md", "results/figures/layer_cosine_ra_rlang_math.png"]
    plan = planned_jobs(workdir, configfile, *targets, *KEEP_THE_DEMO_RUN)
    snakemake(workdir, configfile, *targets, *KEEP_THE_DEMO_RUN, "--cores", "2")
    return workdir, plan


def test_two_seeds_train_again_and_the_table_gives_their_mean_and_spread(two_seed_run):
    workdir, plan = two_seed_run
    assert plan["masked_cpt"] == 3 and plan["importance_cpt"] == 3  # en, es, math: seed 1
    assert not set(plan) & {"generate_world", "tokenize", "pretrain_backbone"}
    assert "evaluate_mmlu" not in plan and plan["evaluate_mgsm"] == 2  # both seeds' merges
    runs = {
        seed: workdir / f"results/{part}cpt/general_en" for seed, part in [(0, ""), (1, "seed-1/")]
    }
    for seed, run in runs.items():  # the seed reached the training
        assert json.loads((run / "training.json").read_text())["args"]["seed"] == seed
    first, second = (load_file(run / "model.safetensors") for run in runs.values())
    assert any(not torch.equal(first[name], second[name]) for name in first)
    scores = pd.read_csv(workdir / "results/tables/scores.csv")
    assert set(scores.loc[scores["model"] == "MAEC", "seed"]) == {0, 1}
    assert set(scores.loc[scores["model"] == "backbone", "seed"]) == {0}  # trained never
    maec = scores[scores["model"] == "MAEC"].pivot(
        index="lang", columns="seed", values="flexible_acc"
    )
    table = pd.read_csv(workdir / "results/tables/results.csv", index_col=0)
    assert table.loc["MAEC", "Math ES"] == pytest.approx(100 * maec.loc["es"].mean())
    per_seed_avg = 100 * maec.mean()  # Avg over every MGSM language, per seed
    intervals = pd.read_csv(workdir / "results/tables/results_intervals.csv")
    avg = intervals[(intervals["model"] == "MAEC") & (intervals["lang"] == "avg")].iloc[0]
    assert avg["seeds"] == 2
    assert avg["sd"] == pytest.approx(abs(per_seed_avg[0] - per_seed_avg[1]) / math.sqrt(2))
    assert avg["low"] <= avg["estimate"] <= avg["high"]
    text = (workdir / "results/tables/results.md").read_text()
    assert "(sd " in text and "the mean over 2 training seeds (0, 1)" in text


def test_two_seeds_give_the_layer_cosines_a_band(two_seed_run):
    workdir, _ = two_seed_run
    layers = pd.read_csv(workdir / "results/tables/layer_cosine_ra_rlang_math.csv")
    assert (layers["seeds"] == 2).all()
    assert (layers["min"] <= layers["cosine"]).all() and (layers["cosine"] <= layers["max"]).all()
    assert (layers["max"] > layers["min"]).any()  # the seeds' R(A) and R_Lang differ
    assert (workdir / "results/figures/layer_cosine_ra_rlang_math.png").stat().st_size > 0


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


def test_the_worlds_translated_corpora_are_a_rule_of_their_own(demo_run):
    """F-CPT_{L&T} and F-CPT_T read the demo world's translated ability corpora; their rule
    writes them beside the world, which stays as it was (the experiments' baselines train on
    them: the rehearsal checks those rows)."""
    workdir, configfile = demo_run
    world = sorted((workdir / "results/world").rglob("*.*"))
    before = {path: path.stat().st_mtime_ns for path in world}
    snakemake(workdir, configfile, "--cores", "1", "results/world/corpora/math_es.jsonl")
    for ability, spec in DEMO["abilities"].items():
        for lang, corpus in spec["translated_corpora"].items():
            lines = (workdir / corpus["source"]).read_text(encoding="utf-8").splitlines()
            assert lines and all(json.loads(line)["text"] for line in lines), (ability, lang)
    assert {path: path.stat().st_mtime_ns for path in world} == before


def test_the_default_target_draws_each_abilitys_accuracy_per_language(demo_run):
    workdir, _ = demo_run
    for ability in DEMO["abilities"]:
        for ext in ("png", "pdf"):
            assert (workdir / f"results/figures/results_{ability}.{ext}").stat().st_size > 0


def _validated(config):
    config = copy.deepcopy(config)
    validate(config, SCHEMA)  # the defaults, as the workflow sees them
    return config


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize(
    "ability, variant",
    [
        ("math", "k2-0.6"),  # a k2 variant
        ("math", "k2-1.0"),  # an ablation: no tensor identification
        ("math", "combine-ties"),
        ("math", "combine-dare"),
        ("science", "k2-0.6"),  # log-likelihood scoring (MMLU)
    ],
)
def test_a_variant_merged_on_load_scores_as_its_written_model(
    demo_run, tmp_path, ability, variant, dtype
):
    """Scores and per-question records of a merge variant merged in memory equal, byte for
    byte, those of the same variant written, loaded from its directory and scored (the
    score summaries differ only in the model they name)."""
    workdir, _ = demo_run
    config = _validated(DEMO)
    config["merge"]["dtype"] = dtype
    settings = variants.variant_merge_settings(config, ability, variant)
    inputs = {
        key: [workdir / p for p in value] if isinstance(value, list) else workdir / value
        for key, value in variants.variant_inputs(config, ability, variant, "").items()
    }
    written = tmp_path / "variant.hf"
    rows = variant_similarity(inputs, settings)
    write_variant_merge(inputs, settings, selected_tensors(rows), tmp_path / "variant.safetensors")
    write_hf_directory(tmp_path / "variant.safetensors", inputs["backbone"], written)
    on_load = MergedOnLoad(inputs, settings, f"maec_{ability}.{variant}")

    languages = ["en", "bn"]
    outputs = {}
    for source, model in [("written", written), ("on_load", on_load)]:
        records = [tmp_path / source / f"{lang}.jsonl" for lang in languages]
        scores = [tmp_path / source / f"{lang}.json" for lang in languages]
        bench = config["evaluation"][benchmark_of(config, ability)]
        if ability == "math":
            evaluate_mgsm_languages(
                model,
                languages,
                [workdir / bench["questions"].format(lang=lang) for lang in languages],
                workdir / bench["exemplars"],
                records,
                scores,
                n_shots=bench["n_shots"],
                max_new_tokens=bench["max_new_tokens"],
                limit=24,
            )
        else:
            evaluate_mmlu_languages(
                model,
                languages,
                [workdir / bench["test"].format(lang=lang) for lang in languages],
                [workdir / bench["dev"].format(lang=lang) for lang in languages],
                records,
                scores,
                n_shots=bench["n_shots"],
                limit=24,
            )
        outputs[source] = records, scores
    assert str(on_load) == f"maec_{ability}.{variant} (merged on load)"
    cpu = torch.device("cpu")
    weights = on_load.load(cpu)[0].state_dict()
    assert weights.keys() == load_model(written, cpu)[0].state_dict().keys()
    for name, tensor in load_model(written, cpu)[0].state_dict().items():
        assert torch.equal(weights[name], tensor), name
    backbone = load_model(inputs["backbone"], cpu)[0].state_dict()
    assert any(not torch.equal(weights[n], backbone[n]) for n in backbone)  # a merge happened
    for written_file, on_load_file in zip(*(sum(outputs[s], []) for s in outputs), strict=True):
        if written_file.suffix == ".jsonl":
            assert written_file.read_bytes() == on_load_file.read_bytes(), written_file.name
        else:
            a, b = (json.loads(f.read_text()) for f in (written_file, on_load_file))
            assert a.pop("model_dir") == str(written)
            assert b.pop("model_dir") == str(on_load)
            assert a == b, written_file.name
