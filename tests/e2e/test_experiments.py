"""The paper's experiments, built by the rehearsal's `experiments` run (config/config.yaml
with config/rehearsal.yaml's sizes and sources, `rehearsal_run` in conftest.py): every
table and figure, each model counting its own runs, and the ablations and merges meaning
what they say. The rehearsal checks how the jobs ran (tests/e2e/test_rehearsal.py); these
tests check what the experiments built, not how well the tiny models score."""

import copy
import json

import pandas as pd
import pytest
import torch
import yaml
from helpers.checkpoints import load_checkpoint
from helpers.configs import SCHEMA
from helpers.workflow import planned_jobs, write_config
from huggingface_hub import ModelCard
from matplotlib import image
from snakemake.utils import validate

from maec.combination.similarity import read_selected, selected_tensors
from maec.combination.variant import variant_similarity, write_variant_merge
from maec.workflow import cards, model_names, paths, studies, variants
from maec.workflow.jobs import seed_dir_of, training_seeds
from maec.workflow.scores import benchmark_of

pytestmark = pytest.mark.rehearsal

GENERAL = "+".join(f"general_{lang}" for lang in ["en", "es", "zh", "bn", "te"])


@pytest.fixture(scope="module")
def run(rehearsal_run, rehearsal_inputs):
    """(working directory, the rehearsal's config)."""
    workdir, _, _ = rehearsal_run["paper"]
    _, configs = rehearsal_inputs
    return workdir, yaml.safe_load(configs["config.yaml"].read_text())


def test_table2_counts_each_models_own_runs(run):
    workdir, config = run
    table2 = pd.read_csv(workdir / "results/tables/table2.csv", index_col=0)
    assert "Math Avg (ES+BN+TE)" in table2.columns  # the paper's averages
    budget = config["experiments"]["baselines"]["tokens"]
    masked = config["masked_cpt"]["tokens"]
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
    untrained = ["Mistral 7B", "LLaMA-2 7B", "Backbone"]
    assert table2.loc[untrained, "#Tokens (B)"].isna().all()
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


def test_domain_adaptation_continues_the_cpt_l_model(run):
    workdir, _ = run
    for tuning in ("full", "lora"):
        summary = json.loads(
            (workdir / f"results/baselines/{tuning}-da/math_en/training.json").read_text()
        )
        assert summary["backbone"] == f"results/baselines/{tuning}/{GENERAL}"
        assert [c for c, _ in summary["corpora"]] == ["results/tokens/math_en"]


def test_translation_rows_train_on_the_translation_rules_output(run):
    """The translation model's output (results/translations/), capped at its token budget,
    is what F-CPT_{L&T} and F-CPT_T train on, for every ability."""
    workdir, config = run
    for ability in config["abilities"]:
        translated = [f"{ability}_{lang}" for lang in config["translation"]["languages"]]
        for corpus in translated:
            summary = json.loads((workdir / f"results/translations/{corpus}.json").read_text())
            assert 0 < summary["source_tokens"] <= config["translation"]["max_tokens"]
            assert summary["target_code"] == "spa_Latn" and summary["documents"] > 0
            tokens = json.loads((workdir / f"results/tokens/{corpus}.json").read_text())
            assert tokens["source"] == f"results/translations/{corpus}.jsonl"
        for corpora in (translated, [*GENERAL.split("+"), *translated]):
            run_dir = workdir / f"results/baselines/full/{'+'.join(corpora)}"
            summary = json.loads((run_dir / "training.json").read_text())
            assert [c for c, _ in summary["corpora"]] == [f"results/tokens/{c}" for c in corpora]


def _figure_is_drawn(workdir, name):
    for suffix in ("png", "pdf"):
        path = workdir / f"results/figures/{name}.{suffix}"
        assert path.stat().st_size > 1000, path
    assert image.imread(workdir / f"results/figures/{name}.png").ndim == 3


def test_every_experiment_target_is_built(run):
    workdir, config = run
    per_ability = ["ablation", "k2", "table8", "merge_by_type"]  # ablation_abilities' only
    for ability in config["abilities"]:
        _figure_is_drawn(workdir, f"layer_cosine_ra_rlang_{ability}")
    for ability in config["experiments"]["selection"]["abilities"]:  # MGSM has no dev split
        selection = (workdir / f"results/tables/selection_{ability}.md").read_text()
        assert "within the selected setting's interval" in selection
    for ability in set(config["abilities"]) - set(config["experiments"]["ablation_abilities"]):
        tables = [workdir / f"results/tables/{s}_{ability}.csv" for s in per_ability]
        assert not [table for table in tables if table.exists()]
        assert not (workdir / f"results/eval/maec_{ability}.within-mlp").exists()
    groups = config["experiments"]["tensor_types"]
    for ability in config["experiments"]["ablation_abilities"]:
        _figure_is_drawn(workdir, f"ablation_{ability}")
        _figure_is_drawn(workdir, f"k2_{ability}")
        by_type = pd.read_csv(workdir / f"results/tables/merge_by_type_{ability}.csv", index_col=0)
        assert set(groups) <= set(by_type.index)
        assert by_type["share of tensors (%)"].dropna().between(0, 100).all()
        table8 = pd.read_csv(workdir / f"results/tables/table8_{ability}.csv", index_col=0)
        assert list(table8.index) == ["Backbone", "All tensors", *groups]
        assert table8.loc["All tensors", "share of T (%)"] == 100
        assert table8.loc[list(groups), "share of T (%)"].between(0, 100).all()
    for panel in ("a", "b", "c"):
        _figure_is_drawn(workdir, f"figure5{panel}")
    table6 = (workdir / "results/tables/table6.md").read_text()
    assert "science_es" in table6 and "mgsm" in table6
    table3 = pd.read_csv(workdir / "results/tables/table3.csv", index_col=0)
    assert list(table3.index) == ["Backbone", "F-CPT_A", "MAEC"]
    assert list(table3.columns) == list(config["experiments"]["ood"]["tasks"])
    assert table3.loc["Backbone"].between(0, 100).all()
    assert " ± " in (workdir / "results/tables/table3.md").read_text()
    ood = config["experiments"]["ood"]
    for model in studies.ood_models(config):  # an item record per item of every task
        items = (workdir / paths.ood_records(model)).read_text().splitlines()
        assert len(items) == ood["limit"] * len(ood["tasks"]), model


def test_figure_series(run):
    workdir, config = run
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
    assert sorted(k2.index) == sorted(config["experiments"]["k2_grid"])
    layers = pd.read_csv(workdir / "results/tables/layer_cosine_ra_rlang_math.csv")
    backbone = json.loads((workdir / "results/backbone/config.json").read_text())
    assert sorted(layers["layer"].unique()) == list(range(backbone["num_hidden_layers"]))


def test_figure5_compares_masked_with_full_training_and_the_corpora(run):
    workdir, _ = run
    losses = pd.read_csv(workdir / "results/tables/figure5a.csv")
    assert set(losses["training"]) == {"key neurons", "every entry"}
    assert set(losses["run"]) == {"general_en", "math_en+general_en", "science_en+general_en"}
    similarity = pd.read_csv(workdir / "results/tables/update_similarity.csv")
    whole = similarity[similarity["layer"] == "all"]
    assert len(whole) == 7 * 6 // 2  # every two of the method's 7 corpora
    assert whole["cosine"].between(-1, 1).all() and (whole["l1"] > 0).all()


def _expected_merge(workdir, config, selected):
    """Eq. 5 with the merge's own float32 arithmetic, in the backbone's dtype."""
    gamma, eta = config["merge"]["gamma"], config["merge"]["eta"]
    base = load_checkpoint(workdir / "results/backbone")
    r_a = load_checkpoint(workdir / "results/deltas/ability/math.safetensors")
    r_lang = load_checkpoint(workdir / "results/deltas/r_lang.safetensors")
    expected = {}
    for name, tensor in base.items():
        acc = tensor.to(torch.float32, copy=True)
        if name in selected:
            acc.add_(r_a[name], alpha=gamma).add_(r_lang[name], alpha=eta)
        else:
            acc.add_(r_lang[name])
        expected[name] = acc.to(tensor.dtype)
    return expected


def _merged_variant(workdir, config, variant, out):
    """A merge variant as its evaluation merges it on load, written to `out` to be read:
    (its tensors, its T)."""
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    settings = variants.variant_merge_settings(config, "math", variant)
    inputs = {
        key: [workdir / p for p in value] if isinstance(value, list) else workdir / value
        for key, value in variants.variant_inputs(config, "math", variant, "").items()
    }
    selected = selected_tensors(variant_similarity(inputs, settings))
    write_variant_merge(inputs, settings, selected, out)
    return load_checkpoint(out), selected


@pytest.mark.parametrize(
    "variant, selected",
    [
        ("k2-1.0", lambda workdir, names: set(names)),  # no tensor identification: every tensor
        ("k2-0.0", lambda workdir, names: set()),  # no ability combination: R_Lang only
        (  # Table 8: R(A) into the tensors of T of a type only
            "within-mlp",
            lambda workdir, names: {
                n for n in read_selected(workdir / "results/similarity/math.tsv") if ".mlp." in n
            },
        ),
    ],
)
def test_merge_variants_are_eq5_on_their_tensors(run, tmp_path, variant, selected):
    workdir, config = run
    merged, tensors = _merged_variant(workdir, config, variant, tmp_path / "variant.safetensors")
    assert tensors == selected(workdir, merged)
    expected = _expected_merge(workdir, config, tensors)
    assert merged.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(merged[name], tensor), name


def test_variants_are_scored_merged_on_load_and_never_written(run):
    workdir, _ = run
    scored = sorted((workdir / "results/eval").glob("maec_math.*/mgsm_en.json"))
    assert len(scored) >= 9  # the ablations, the k2 sweep, the type merges, beyond's
    for score in scored:
        model = score.parent.name
        assert json.loads(score.read_text())["model_dir"] == f"{model} (merged on load)"
    assert not (workdir / "results/merged/math").exists()


def test_adding_one_k2_value_plans_only_its_evaluation(run):
    workdir, config = run
    config = copy.deepcopy(config)
    config["experiments"]["k2_grid"].append(0.6)
    configfile = write_config(config, workdir, "more_k2.yaml")
    plan = planned_jobs(workdir, configfile, "results/figures/k2_math.png")
    assert plan == {"evaluate_mgsm": 1, "k2_sweep": 1}


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


def test_beyond_the_paper_tables_and_figures(run):
    workdir, config = run
    for ability in config["experiments"]["beyond"]["abilities"]:
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


def test_layer_swap_takes_the_bottom_layer_from_f_cpt_l(run):
    workdir, _ = run
    swap = load_checkpoint(workdir / "results/baselines/layer-swap/math.safetensors")
    language = load_checkpoint(workdir / f"results/baselines/full/{GENERAL}")
    ability = load_checkpoint(workdir / "results/baselines/full/math_en")
    for name, tensor in swap.items():  # bottom 1 of 2 layers, no top, no transition
        bottom = ".layers.0." in name or "embed_tokens" in name
        assert torch.equal(tensor, (language if bottom else ability)[name]), name


def test_maec_ties_dare_and_revert_reuse_the_deltas_and_differ_from_maec(run, tmp_path):
    workdir, config = run
    maec = load_checkpoint(workdir / "results/merged/math.safetensors")
    for variant in ("combine-ties", "combine-dare", "revert"):
        merged, _ = _merged_variant(workdir, config, variant, tmp_path / f"{variant}.safetensors")
        assert merged.keys() == maec.keys()
        assert any(not torch.equal(merged[n], maec[n]) for n in maec), variant


def test_every_kept_model_has_a_card_with_its_scores_license_and_provenance(run):
    """Every model the experiments keep (no merge variant) is described in the hub's format:
    its backbone, languages, tags, its scores per language, the license of the backbone's
    own card, and its provenance with the settings along its path."""
    workdir, config = run
    config = copy.deepcopy(config)
    validate(config, SCHEMA)  # the defaults, as the workflow saw them
    for model in cards.carded_models(config):
        for seed in training_seeds(config):
            seed_dir = seed_dir_of(config, seed)
            model_dir = workdir / model_names.model_dir(config, model, seed_dir)
            card = ModelCard.load(model_dir / "README.md")
            assert card.content == (workdir / cards.model_card(model, seed_dir)).read_text()
            data = card.data
            assert data.base_model == config["backbone"], model
            assert data.license == "llama3"  # from the rehearsal backbone's card
            assert data.language == [config["reference_language"], *config["languages"]]
            assert {"maec", cards.relation(model)} <= set(data.tags)
            scored = {(r.dataset_type, r.dataset_config) for r in data.eval_results}
            assert scored == {
                (config["evaluation"][bench]["hub"], lang)
                for bench in {benchmark_of(config, a) for a in cards.card_abilities(config, model)}
                for lang in config["evaluation"][bench]["languages"]
            }, model
            provenance = json.loads((model_dir / "provenance.json").read_text())
            assert provenance["settings"]["training_seed"] == seed
            assert provenance["lineage"] and all(step["files"] for step in provenance["lineage"])
