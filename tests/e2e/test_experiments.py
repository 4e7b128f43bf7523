"""The paper's experiments on the demo world: every target builds, reusing the demo run's
checkpoints, and the ablations mean what they say.

Run with `pytest -m experiments` (CI does; the default suite leaves them out for time)."""

import copy
import json
import shutil

import pandas as pd
import pytest
import torch
from helpers.workflow import planned_jobs, snakemake, write_config
from matplotlib import image
from safetensors.torch import load_file

from maec.combination.similarity import read_selected

# CI's time: every baseline trains a thirtieth of the demo's budget (the ratios between them,
# the paper's, stay), every model answers the first questions of each language only and the
# per-ability studies run for math (their rules are the same for science); the demo's own
# runs are the demo run's. These tests check what each experiment builds, not how well the
# models score.
BUDGET_SHARE = 30
QUESTIONS = {"mgsm": 25, "mmlu": 20}
ABLATION_ABILITIES = ["math"]
STUDIES = ["ablation", "k2", "table8", "merge_by_type"]  # experiments.ablation_abilities'


@pytest.fixture(scope="module")
def experiments_config(demo_config):
    config = copy.deepcopy(demo_config)
    tokens = config["experiments"]["baselines"]["tokens"]
    for kind in tokens:
        tokens[kind] //= BUDGET_SHARE
    for benchmark, limit in QUESTIONS.items():
        config["evaluation"][benchmark]["limit"] = limit
    config["experiments"]["ablation_abilities"] = ABLATION_ABILITIES
    return config


@pytest.fixture(scope="module")
def experiments_run(demo_run, experiments_config, tmp_path_factory):
    """`experiments` in a copy of the demo run (which the other tests keep as it is), its
    training runs and their records reused."""
    demo_dir, _ = demo_run
    workdir = tmp_path_factory.mktemp("experiments")
    shutil.copytree(demo_dir, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("locks"))
    configfile = write_config(experiments_config, workdir, "experiments.yaml")
    snakemake(workdir, configfile, "experiments", "--cores", "2")
    return workdir, configfile


TABLE2_ROWS = [
    "Backbone before pretraining",
    "Backbone",
    "F-CPT_{L&A}",
    "L-CPT_{L&A}",
    "F-CPT_A",
    "F-CPT_L",
    "L-CPT_L",
    "F-CPT_L & DA",
    "L-CPT_L & DA",
    "F-CPT_{L&T}",
    "F-CPT_T",
    "F-TV",
    "L-TV",
    "MAEC",
]


def test_table2_has_every_row_and_counts_each_models_own_runs(experiments_run, experiments_config):
    workdir, _ = experiments_run
    table2 = pd.read_csv(workdir / "results/tables/table2.csv", index_col=0)
    assert list(table2.index) == TABLE2_ROWS
    assert "Math Avg (EN+ES+ZH+BN+TE)" in table2.columns  # the demo averages every language
    budget = experiments_config["experiments"]["baselines"]["tokens"]
    masked = experiments_config["masked_cpt"]["tokens"]
    expected = {
        "F-CPT_{L&A}": budget["fcpt_la"],
        "F-CPT_A": budget["fcpt_a"],
        "F-CPT_L & DA": budget["fcpt_l"] + budget["fcpt_l_da"],
        "L-CPT_L & DA": budget["lcpt_l"] + budget["lcpt_l_da"],
        "F-CPT_{L&T}": budget["fcpt_lt"],
        "F-TV": budget["fcpt_a"] + budget["fcpt_l"],
        "MAEC": 6 * masked,  # ability, reference and four language runs
    }
    for row, tokens in expected.items():
        assert table2.loc[row, "#Tokens (B)"] == pytest.approx(tokens / 1e9), row
    assert table2.loc[["Backbone before pretraining", "Backbone"], "#Tokens (B)"].isna().all()
    notes = (workdir / "results/tables/table2.md").read_text()
    assert "from the averages as printed (1 decimal(s))" in notes
    assert " ± " in notes and "MAEC − F-CPT_A" in notes and "MAEC − Backbone" in notes
    paired = pd.read_csv(workdir / "results/tables/table2_paired.csv")
    assert ("MAEC", "Backbone") in set(zip(paired["first"], paired["second"]))
    assert (paired["significant"] == ((paired["low"] > 0) | (paired["high"] < 0))).all()
    intervals = pd.read_csv(workdir / "results/tables/table2_intervals.csv")
    assert (
        (intervals["low"] <= intervals["estimate"]) & (intervals["estimate"] <= intervals["high"])
    ).all()
    planned = pd.read_csv(workdir / "results/tables/table2_tokens.csv")
    assert planned.groupby("row")["tokens"].sum()["MAEC"] == 2 * 6 * masked  # both abilities


def test_domain_adaptation_continues_the_cpt_l_model(experiments_run):
    workdir, _ = experiments_run
    general = "+".join(f"general_{lang}" for lang in ["en", "es", "zh", "bn", "te"])
    for method in ("full", "lora"):
        summary = json.loads(
            (workdir / f"results/baselines/{method}-da/math_en/training.json").read_text()
        )
        assert summary["backbone"] == f"results/baselines/{method}/{general}"
        assert [c for c, _ in summary["corpora"]] == ["results/tokens/math_en"]


def test_translation_rows_train_on_the_translated_corpora(experiments_run):
    workdir, _ = experiments_run
    translated = [f"math_{lang}" for lang in ["es", "zh", "bn", "te"]]
    run = workdir / f"results/baselines/full/{'+'.join(translated)}/training.json"
    corpora = [c for c, _ in json.loads(run.read_text())["corpora"]]
    assert corpora == [f"results/tokens/{c}" for c in translated]


def _figure_is_drawn(workdir, name):
    for suffix in ("png", "pdf"):
        path = workdir / f"results/figures/{name}.{suffix}"
        assert path.stat().st_size > 1000, path
    assert image.imread(workdir / f"results/figures/{name}.png").ndim == 3


def test_every_experiment_target_is_built(experiments_run, demo_config):
    workdir, _ = experiments_run
    for ability in demo_config["abilities"]:
        _figure_is_drawn(workdir, f"layer_cosine_{ability}")
        selection = (workdir / f"results/tables/selection_{ability}.md").read_text()
        assert "within the selected setting's interval" in selection
    for ability in set(demo_config["abilities"]) - set(ABLATION_ABILITIES):
        studies = [f"results/tables/{s}_{ability}.csv" for s in STUDIES]
        assert not [path for path in studies if (workdir / path).exists()]
        assert not (workdir / f"results/merged/{ability}/within-mlp.safetensors").exists()
    for ability in ABLATION_ABILITIES:
        _figure_is_drawn(workdir, f"ablation_{ability}")
        _figure_is_drawn(workdir, f"k2_{ability}")
        groups = demo_config["experiments"]["tensor_types"]
        by_type = pd.read_csv(workdir / f"results/tables/merge_by_type_{ability}.csv", index_col=0)
        assert set(groups) <= set(by_type.index)
        assert by_type["share of tensors (%)"].dropna().between(0, 100).all()
        table8 = pd.read_csv(workdir / f"results/tables/table8_{ability}.csv", index_col=0)
        assert list(table8.index) == ["Backbone", "All tensors", *groups]
        assert table8.loc["All tensors", "share of T (%)"] == 100
        assert table8.loc[list(groups), "share of T (%)"].between(0, 100).all()
    table3 = pd.read_csv(workdir / "results/tables/table3.csv", index_col=0)
    assert list(table3.index) == ["Backbone", "F-CPT_A", "MAEC"]
    assert list(table3.columns) == list(demo_config["experiments"]["ood"]["tasks"])
    assert table3.loc["Backbone"].between(0, 100).all()


def test_figure_series(experiments_run, demo_config):
    workdir, _ = experiments_run
    ablation = pd.read_csv(workdir / "results/tables/ablation_math.csv", index_col=0)
    assert list(ablation.index) == [
        "Backbone",
        "MAEC",
        "no key neurons",
        "no ability weights",
        "no tensor identification",
        "no ability combination",
    ]
    assert ablation.filter(like="Avg").notna().all().all()
    assert " ± " in (workdir / "results/tables/ablation_math.md").read_text()
    k2 = pd.read_csv(workdir / "results/tables/k2_math.csv", index_col=0)
    assert sorted(k2.index) == sorted(demo_config["experiments"]["k2_grid"])
    layers = pd.read_csv(workdir / "results/tables/layer_cosine_math.csv")
    n_layers = demo_config["world"]["model"]["layers"]
    assert sorted(layers["layer"].unique()) == list(range(n_layers))


def _merged(workdir, ability, variant):
    return load_file(workdir / f"results/merged/{ability}/{variant}.safetensors")


def test_no_tensor_identification_is_the_merge_with_every_tensor(experiments_run, demo_config):
    workdir, _ = experiments_run
    gamma, eta = demo_config["merge"]["gamma"], demo_config["merge"]["eta"]
    base = load_file(workdir / "results/backbone/model.safetensors")
    r_a = load_file(workdir / "results/deltas/ability/math.safetensors")
    r_lang = load_file(workdir / "results/deltas/r_lang.safetensors")
    merged = _merged(workdir, "math", "k2-1.0")
    for name, tensor in base.items():
        expected = (tensor.float() + gamma * r_a[name] + eta * r_lang[name]).to(tensor.dtype)
        torch.testing.assert_close(merged[name], expected, rtol=0, atol=1e-6)


def test_k2_zero_is_r_lang_only(experiments_run):
    workdir, _ = experiments_run
    base = load_file(workdir / "results/backbone/model.safetensors")
    r_lang = load_file(workdir / "results/deltas/r_lang.safetensors")
    merged = _merged(workdir, "math", "k2-0.0")
    for name, tensor in base.items():
        expected = (tensor.float() + r_lang[name]).to(tensor.dtype)
        torch.testing.assert_close(merged[name], expected, rtol=0, atol=1e-6)


def test_table8_merges_r_a_into_the_tensors_of_t_of_a_type_only(experiments_run, demo_config):
    workdir, _ = experiments_run
    gamma, eta = demo_config["merge"]["gamma"], demo_config["merge"]["eta"]
    in_t = read_selected(workdir / "results/similarity/math.tsv")
    variant_t = read_selected(workdir / "results/merged/math/within-mlp.tsv")
    mlp = {name for name in in_t if ".mlp." in name}
    assert variant_t == mlp and mlp
    base = load_file(workdir / "results/backbone/model.safetensors")
    r_a = load_file(workdir / "results/deltas/ability/math.safetensors")
    r_lang = load_file(workdir / "results/deltas/r_lang.safetensors")
    merged = _merged(workdir, "math", "within-mlp")
    for name, tensor in base.items():
        ability = gamma * r_a[name] + eta * r_lang[name] if name in mlp else r_lang[name]
        expected = (tensor.float() + ability).to(tensor.dtype)
        torch.testing.assert_close(merged[name], expected, rtol=0, atol=1e-6)


def test_adding_one_k2_value_plans_only_its_merge_and_evaluation(
    experiments_run, experiments_config
):
    workdir, _ = experiments_run
    config = copy.deepcopy(experiments_config)
    config["experiments"]["k2_grid"].append(0.6)
    configfile = write_config(config, workdir, "more_k2.yaml")
    plan = planned_jobs(workdir, configfile, "results/figures/k2_math.png")
    assert plan == {"merge_variant": 1, "evaluate_mgsm": 1, "k2_sweep": 1}


BEYOND_ROWS = [
    "Backbone",
    "MAEC",
    "MAEC TIES",
    "MAEC DARE",
    "MAEC revert",
    "w/o key neurons",
    "F-TV",
    "F-TV TIES",
    "F-TV DARE",
    "L-TV",
    "L-TV TIES",
    "L-TV DARE",
    "Layer swap",
    "MAEC math+science",
]


def test_beyond_the_paper_tables_and_figures(experiments_run, demo_config):
    workdir, _ = experiments_run
    for ability in demo_config["experiments"]["beyond"]["abilities"]:
        table = pd.read_csv(workdir / f"results/tables/beyond_{ability}.csv", index_col=0)
        assert list(table.index) == BEYOND_ROWS
        assert table.filter(like="Avg").notna().all().all()
        text = (workdir / f"results/tables/beyond_{ability}.md").read_text()
        # the joint model's interference: MAEC of this ability against it, paired
        assert " ± " in text and "MAEC − MAEC math+science" in text
        for suffix in ("png", "pdf"):
            assert (workdir / f"results/figures/beyond_{ability}.{suffix}").stat().st_size > 1000
    joint = json.loads((workdir / "results/merged/math+science.hf/merge.json").read_text())
    assert json.loads(joint["abilities"]) == ["math", "science"]


def test_layer_swap_takes_the_bottom_layer_from_f_cpt_l(experiments_run):
    workdir, _ = experiments_run
    swap = load_file(workdir / "results/baselines/layer-swap/math.safetensors")
    general = "+".join(f"general_{lang}" for lang in ["en", "es", "zh", "bn", "te"])
    language = load_file(workdir / f"results/baselines/full/{general}/model.safetensors")
    ability = load_file(workdir / "results/baselines/full/math_en/model.safetensors")
    for name, tensor in swap.items():  # demo: bottom 1 of 2 layers, no top, no transition
        bottom = ".layers.0." in name or "embed_tokens" in name
        assert torch.equal(tensor, (language if bottom else ability)[name]), name


def test_maec_ties_and_dare_reuse_the_deltas_and_differ_from_maec(experiments_run):
    workdir, _ = experiments_run
    maec = load_file(workdir / "results/merged/math.safetensors")
    for variant in ("combine-ties", "combine-dare", "revert"):
        merged = _merged(workdir, "math", variant)
        assert merged.keys() == maec.keys()
        assert any(not torch.equal(merged[n], maec[n]) for n in maec), variant
