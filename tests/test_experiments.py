"""The paper's experiments on the demo world: every target builds, reusing the demo run's
checkpoints, and the ablations mean what they say.

Run with `pytest -m experiments` (CI does; the default suite leaves them out for time)."""

import copy

import pandas as pd
import pytest
import torch
from matplotlib import image
from safetensors.torch import load_file
from workflow_helpers import planned_jobs, snakemake, write_config

pytestmark = [pytest.mark.experiments, pytest.mark.slow]


@pytest.fixture(scope="module")
def experiments_run(demo_run):
    workdir, configfile = demo_run
    snakemake(workdir, configfile, "experiments", "--cores", "2")
    return workdir, configfile


def test_every_experiment_target_is_built(experiments_run, demo_config):
    workdir, _ = experiments_run
    table2 = pd.read_csv(workdir / "results/tables/table2.csv", index_col=0)
    assert list(table2.index) == [
        "Backbone",
        "F-CPT_{L&A}",
        "L-CPT_{L&A}",
        "F-CPT_A",
        "F-CPT_L",
        "L-CPT_L",
        "F-TV",
        "L-TV",
        "MAEC",
    ]
    for ability in demo_config["abilities"]:
        for figure in ("ablation", "k2", "layer_cosine"):
            for suffix in ("png", "pdf"):
                path = workdir / f"results/figures/{figure}_{ability}.{suffix}"
                assert path.stat().st_size > 1000, path
            assert image.imread(workdir / f"results/figures/{figure}_{ability}.png").ndim == 3
        types = pd.read_csv(workdir / f"results/tables/tensor_types_{ability}.csv", index_col=0)
        assert set(demo_config["experiments"]["tensor_types"]) <= set(types.index)
        assert types["share of tensors (%)"].dropna().between(0, 100).all()
        assert (workdir / f"results/tables/selection_{ability}.md").exists()


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


def test_adding_one_k2_value_plans_only_its_merge_and_evaluation(experiments_run, demo_config):
    workdir, _ = experiments_run
    config = copy.deepcopy(demo_config)
    config["experiments"]["k2_grid"].append(0.6)
    configfile = write_config(config, workdir, "more_k2.yaml")
    plan = planned_jobs(workdir, configfile, "results/figures/k2_math.png")
    assert plan == {"merge_variant": 1, "evaluate_mgsm": 1, "k2_sweep": 1}
