"""The workflow's DAG, planned by `snakemake --dry-run` on the paper's configuration, the
Table 7 configs and the rehearsal's: which jobs each target plans, how seeds, abilities and
studies multiply them."""

import copy

import pandas as pd
import pytest
from helpers.configs import SCHEMA, overlaid
from helpers.workflow import (
    REPO,
    load_config,
    planned_jobs,
    planned_params,
    snakemake,
    write_config,
)
from snakemake.utils import validate

from maec.workflow import studies

PAPER = load_config("config.yaml")
PAPER_TABLE2 = REPO / "tests" / "fixtures" / "paper_table2.tsv"
TABLE7_CONFIGS = ["table7-qwen2.5-0.5b.yaml", "table7-gemma-2-2b.yaml"]

# Five general corpora (en, es, zh, bn, te) and one ability corpus: each tokenized, importance
# CPT'd and turned into a mask; four language runs and the ability run train mask unions; the
# ability run, the reference run and four language runs are the masked CPT runs.
EXPECTED_PLAN = {
    "download_backbone": 1,
    "tokenize": 6,
    "importance_cpt": 6,
    "key_neurons": 6,
    "mask_union": 5,
    "masked_cpt": 6,
    "ability_weights": 1,
    "language_weights": 4,
    "r_lang": 1,
    "tensor_similarity": 1,
    "merge": 1,
}


@pytest.mark.parametrize("ability", ["math", "science"])
def test_paper_config_plans_the_method(tmp_path, ability):
    configfile = write_config(PAPER, tmp_path)
    plan = planned_jobs(tmp_path, configfile, f"results/merged/{ability}.safetensors")
    assert plan == EXPECTED_PLAN


def test_paper_config_plans_both_abilities_sharing_language_runs(tmp_path):
    configfile = write_config(PAPER, tmp_path)
    plan = planned_jobs(
        tmp_path,
        configfile,
        "results/merged/math.safetensors",
        "results/merged/science.safetensors",
    )
    # The language runs and the reference run are shared: only the ability side doubles.
    assert plan["tokenize"] == 7
    assert plan["masked_cpt"] == 7
    assert plan["mask_union"] == 6
    assert plan["merge"] == 2
    assert plan["language_weights"] == 4 and plan["r_lang"] == 1


def test_paper_config_plans_evaluation_and_tables(tmp_path):
    configfile = write_config(PAPER, tmp_path)
    plan = planned_jobs(tmp_path, configfile)
    # one job per model and benchmark: the backbone on both, each merged model on its own.
    assert plan["evaluate_mgsm"] == 2
    assert plan["evaluate_mmlu"] == 2
    assert plan["results_table"] == 1 and plan["diagnostics"] == 2
    assert plan["download_mgsm"] == 1 and plan["download_mmlu"] == 6


def test_each_seed_repeats_the_training_runs_and_what_follows_but_not_the_backbone(tmp_path):
    configfile = write_config(PAPER | {"seeds": 3}, tmp_path)
    plan = planned_jobs(tmp_path, configfile)
    assert plan["download_backbone"] == 1 and plan["tokenize"] == 7  # shared by the seeds
    assert plan["importance_cpt"] == plan["key_neurons"] == plan["masked_cpt"] == 3 * 7
    assert plan["merge"] == 3 * 2 and plan["r_lang"] == 3
    # the backbone once on both benchmarks, each seed's merged models on their own
    assert plan["evaluate_mgsm"] == plan["evaluate_mmlu"] == 1 + 3
    assert plan["results_table"] == 1 and plan["diagnostics"] == 2  # the first seed's
    # the first seed keeps a one-seed run's paths, seed n lies under results/seed-{n}/
    target = "results/seed-2/merged/math.safetensors"
    assert planned_jobs(tmp_path, configfile, target) == EXPECTED_PLAN
    with pytest.raises(AssertionError, match="is not trained, so it has no seed"):
        planned_jobs(tmp_path, configfile, "results/seed-1/eval/backbone/mgsm_es.json")


def _with_translations(config, languages=("es", "bn", "te")):
    """The config with (hub ids of) translated ability corpora, so every Table 2 row runs."""
    config = copy.deepcopy(config)
    for ability, spec in config["abilities"].items():
        spec["translated_corpora"] = {
            lang: {"source": f"mt-output/{ability}-{lang}"} for lang in languages
        }
    return config


def _planned_tokens(workdir, configfile):
    """Billions of tokens per Table 2 row and ability, as the workflow's accounting plans."""
    snakemake(workdir, configfile, "results/tables/table2_tokens.csv", "--cores", "1")
    runs = pd.read_csv(workdir / "results/tables/table2_tokens.csv")
    return runs.groupby(["row", "ability"])["tokens"].sum() / 1e9


def test_paper_config_plans_every_experiment_with_the_papers_token_budgets(tmp_path):
    configfile = write_config(_with_translations(PAPER), tmp_path)
    plan = planned_jobs(tmp_path, configfile, "experiments")
    assert plan["table2"] == plan["table2_tokens"] == plan["table3"] == 1
    assert plan["table8"] == plan["merge_by_type"] == 2
    # Table 3: the backbone, F-CPT_A and MAEC for math, each once through lm-eval.
    assert plan["evaluate_ood"] == 3
    # Two reference models to download; F/L-CPT_L & DA for each ability; 7 full-CPT and 5
    # LoRA baseline runs (F-CPT_L and L-CPT_L serve both abilities).
    assert plan["download_reference_model"] == 2
    assert plan["domain_adaptation"] == 4
    assert plan["baseline_cpt"] == 14
    # Beyond the paper, per ability: F-TV and L-TV with TIES and with DARE, Layer Swapping,
    # the reverted R(A); one joint model of math and science; no training of their own.
    assert plan["task_vector_combined"] == 8
    assert plan["layer_swap"] == plan["ability_weights_revert"] == 2
    assert plan["joint_merge"] == 1
    assert plan["beyond_table"] == plan["beyond_figure"] == 2
    tokens = _planned_tokens(tmp_path, configfile)
    paper = pd.read_csv(PAPER_TABLE2, sep="\t", comment="#", na_values="-", index_col="method")
    rows = paper["tokens_b"].dropna()
    assert len(rows) == 12  # MAEC and every baseline of the paper's Table 2
    for row, billions in rows.items():
        for ability in ("math", "science"):
            assert tokens[(row, ability)] == pytest.approx(billions), (row, ability)


def test_ablation_abilities_leave_out_the_other_abilities_studies_only(tmp_path):
    both = planned_jobs(tmp_path, write_config(PAPER, tmp_path), "experiments")
    config = copy.deepcopy(PAPER)
    config["experiments"]["ablation_abilities"] = ["math"]
    math = planned_jobs(tmp_path, write_config(config, tmp_path, "math.yaml"), "experiments")
    assert math["layer_cosine_ra_rlang"] == 2  # for every ability
    # Science's merges: 4 ablations, 4 more k2 values (0.0 and 1.0 are ablations), 9 tensor
    # types for the merge-by-type table and 9 for Table 8, less "no key neurons", which
    # science's beyond table still scores; each scored on MMLU, merged on load (none is
    # written). No training run is left out.
    left_out = {rule: n - math.get(rule, 0) for rule, n in both.items() if n != math.get(rule)}
    assert "merge_variant" not in both
    assert left_out == {
        "evaluate_mmlu": 25,
        "ability_weights_plain": 1,
        "ablation": 1,
        "k2_sweep": 1,
        "table8": 1,
        "merge_by_type": 1,
    }


def test_joint_model_merges_both_abilities_and_is_scored_on_both_benchmarks(tmp_path):
    configfile = write_config(PAPER, tmp_path)
    joint = "results/eval/joint_math+science"
    plan = planned_jobs(
        tmp_path,
        configfile,
        "results/merged/math+science.safetensors",
        f"{joint}/mgsm_es.json",
        f"{joint}/mmlu_es.json",
    )
    assert plan["joint_merge"] == 1 and plan["tensor_similarity"] == 2
    assert plan["evaluate_mgsm"] == plan["evaluate_mmlu"] == 1
    assert "baseline_cpt" not in plan and "full_cpt" not in plan


def test_without_translated_corpora_the_translation_rows_are_not_planned(tmp_path):
    config = copy.deepcopy(PAPER)
    del config["translation"]
    configfile = write_config(config, tmp_path)
    plan = planned_jobs(tmp_path, configfile, "results/tables/table2.md")
    assert plan["baseline_cpt"] == 10
    assert "F-CPT_T" not in set(_planned_tokens(tmp_path, configfile).index.get_level_values(0))


@pytest.mark.parametrize("name", TABLE7_CONFIGS)
def test_table7_configs_plan_the_smaller_backbones(tmp_path, name):
    config = load_config(name)
    assert config["abilities"].keys() == {"science"} and config["languages"] == ["es", "te"]
    configfile = write_config(config, tmp_path)
    plan = planned_jobs(tmp_path, configfile, "experiments")
    assert plan["download_backbone"] == 1 and plan["table2"] == 1 and plan["table8"] == 1
    assert plan["baseline_cpt"] == 2  # F-CPT_{L&A} and F-CPT_A, Table 7's rows
    assert plan["masked_cpt"] == 4  # the ability run, the reference run, es and te
    assert "evaluate_mgsm" not in plan and "table3" not in plan
    tokens = _planned_tokens(tmp_path, configfile)
    assert tokens.to_dict() == {
        ("F-CPT_{L&A}", "science"): 20.0,
        ("F-CPT_A", "science"): 4.0,
        ("MAEC", "science"): 8.0,  # 4 masked runs of 2B: two target languages
    }


def test_ability_pack_plans_the_ability_side_only(tmp_path):
    configfile = write_config(PAPER, tmp_path)
    plan = planned_jobs(tmp_path, configfile, "results/packs/math.safetensors")
    assert plan == {
        "download_backbone": 1,
        "tokenize": 2,  # math_en and general_en
        "importance_cpt": 2,
        "key_neurons": 2,
        "mask_union": 1,
        "masked_cpt": 2,  # Θ_{A,L0} and Θ_{L0}
        "ability_weights": 1,
        "ability_pack": 1,
    }


@pytest.mark.reliability
def test_an_accepted_language_code_with_digits_builds_its_language_weights(tmp_path):
    config = copy.deepcopy(PAPER)
    config["languages"].append("es419")
    config["general_corpora"]["es419"] = config["general_corpora"]["es"]
    plan = planned_jobs(tmp_path, write_config(config, tmp_path), "results/merged/math.safetensors")
    assert plan["language_weights"] == len(config["languages"]) and plan["r_lang"] == 1


def test_the_ability_run_on_the_ability_corpus_alone_keeps_its_mask(tmp_path):
    """Algorithm 1's reading: Θ_{A,L0} trains on the ability corpus alone, over N_A ∪ N_L0."""
    config = copy.deepcopy(PAPER)
    config["masked_cpt"]["ability_run"] = "ability"
    configfile = write_config(config, tmp_path)
    out = snakemake(tmp_path, configfile, "--dry-run", "results/deltas/ability/math.safetensors")
    assert "results/cpt/math_en\n" in out.stdout
    assert "results/masks/union/math_en+general_en.safetensors" in out.stdout
    assert "results/cpt/math_en+general_en" not in out.stdout


def test_the_baselines_mixture_is_their_own(tmp_path):
    config = copy.deepcopy(PAPER)
    config["masked_cpt"]["mixture"]["ability"] = 3.0
    params = planned_params(tmp_path, write_config(config, tmp_path), "results/tables/table2.md")
    assert {tuple(p["weights"]) for p in params["masked_cpt"]} >= {(3.0, 1.0)}
    assert all(3.0 not in p["weights"] for p in params["baseline_cpt"])


def test_keep_variants_writes_every_variant_the_studies_score(tmp_path):
    config = copy.deepcopy(PAPER)
    config["experiments"]["keep_variants"] = True
    plan = planned_jobs(tmp_path, write_config(config, tmp_path), "experiments")
    validate(config, SCHEMA)
    # the ablations, k2 sweep and type merges of both abilities, beyond's and the selection grid
    assert plan["merge_variant"] == len(studies.scored_variants(config)) == 94
    assert plan["merge_variant"] == len(studies.kept_variants(config))


def test_the_medical_example_plans_a_third_ability_on_harness_tasks(tmp_path):
    """config/examples/medical.yaml over the paper's config: the harness's own index names
    its tasks while planning; the backbone and the medical MAEC model are scored by
    `evaluate_globalmed`, and the method is planned once more for the new ability."""
    config = overlaid(PAPER, "examples/medical.yaml")
    plan = planned_jobs(tmp_path, write_config(config, tmp_path))
    assert plan["evaluate_globalmed"] == 2
    assert (plan["evaluate_mgsm"], plan["evaluate_mmlu"]) == (2, 2)
    assert (plan["merge"], plan["ability_weights"], plan["model_card"]) == (3, 3, 3)
