"""The score files of the results table, with their seeds, and what every table shares."""

from helpers.configs import shipped_config

from maec.workflow import scores

PAPER = shipped_config("config.yaml")
FIRST = PAPER["training"]["seed"]


def test_the_backbone_is_scored_on_every_benchmark_a_merge_on_its_own():
    assert scores.results_benches(PAPER, "backbone") == ["mgsm", "mmlu"]
    assert scores.results_benches(PAPER, "maec_science") == ["mmlu"]
    assert scores.results_labels(PAPER) == {
        "backbone": "backbone",
        "maec_math": "MAEC",
        "maec_science": "MAEC",
    }


def test_every_seed_of_a_trained_model_is_scored_the_backbone_once():
    config = PAPER | {"seeds": 2}
    pairs = scores.results_scores(config)
    mgsm, mmlu = (len(PAPER["evaluation"][b]["languages"]) for b in ("mgsm", "mmlu"))
    assert len(pairs) == (mgsm + mmlu) + 2 * mgsm + 2 * mmlu
    assert {seed for seed, path in pairs if "/backbone/" in path} == {FIRST}
    second = [path for seed, path in pairs if seed == FIRST + 1]
    assert second and all(
        path.startswith(f"results/seed-{FIRST + 1}/eval/maec_") for path in second
    )


def test_the_results_table_counts_maecs_masked_runs():
    training = scores.results_training(PAPER)
    assert set(training) == {"MAEC"}
    assert len(training["MAEC"]["mgsm"]) == 6
    assert len(scores.training_run_dirs(training)) == 7  # both abilities' runs, shared ones once
    assert scores.table_options(PAPER)["averaged"] == {
        spec["benchmark"]: spec["average"] for spec in PAPER["abilities"].values()
    }
