"""A broken config stops `snakemake` before any job is planned, naming the key: the schema,
maec.workflow.config_checks (non-finite numbers, bounds, languages, budgets) and a value that
does not fit the backbone on disk (every other case is checked in this process:
tests/unit/workflow/test_config_checks.py and test_backbone_fit.py)."""

import copy
import re

import pytest
from helpers.configs import overlaid
from helpers.tiny import save_tiny_model
from helpers.workflow import load_config, snakemake, write_config

pytestmark = pytest.mark.reliability

PAPER = load_config("config.yaml")


def _unknown_key(config):
    config["merge"]["gama"] = 0.3


def _language_without_corpus(config):
    config["general_corpora"].pop("bn")


def _set(section: str, key: str, value):
    def mutate(config):
        holder = config
        for part in section.split("."):
            holder = holder[part]
        holder[key] = value

    return mutate


@pytest.mark.parametrize(
    "mutate, key",
    [
        (_unknown_key, r"gama"),
        (_language_without_corpus, r"general_corpora\.bn"),
        (_set("key_neurons", "k1", float("nan")), r"key_neurons\.k1 is nan"),
        (_set("abilities.math", "k2", float("nan")), r"abilities\.math\.k2 is nan"),
        (_set("merge", "gamma", float("nan")), r"merge\.gamma is nan"),
        (_set("merge", "eta", float("inf")), r"merge\.eta is inf"),
        (_set("merge", "gamma", -0.5), r"-0\.5 is less than the minimum of 0"),
        (_set("masked_cpt", "tokens", 1000), r"masked_cpt\.tokens: 1000 tokens are less than"),
    ],
)
def test_a_broken_config_fails_before_any_job_naming_the_key(tmp_path, mutate, key):
    config = copy.deepcopy(PAPER)
    mutate(config)
    proc = snakemake(tmp_path, write_config(config, tmp_path), "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(key, out), out[-3000:]
    assert "Job stats" not in out


def test_patterns_that_select_no_tensor_of_the_backbone_on_disk_fail_the_plan(tmp_path):
    save_tiny_model(tmp_path / "results" / "backbone")
    config = copy.deepcopy(PAPER)
    config["tokenize"]["block_size"] = 64
    config["key_neurons"]["include"] = ["experts"]
    proc = snakemake(tmp_path, write_config(config, tmp_path), "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "key_neurons.include ['experts'] and exclude [] select no tensor" in out, out[-3000:]
    assert "Job stats" not in out


def _harness_task(config, lang, task):
    config["evaluation"]["harness"]["worldsci"]["tasks"][lang] = task


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: _harness_task(c, "bn", "no_such_task"),
            "config: evaluation.harness.worldsci.tasks.bn: 'no_such_task' is neither a task of "
            "evaluation.harness.worldsci.definitions nor an lm-evaluation-harness task",
        ),
        (
            lambda c: c["evaluation"]["harness"]["worldsci"].update(metric="exact_match"),
            "config: evaluation.harness.worldsci.metric: task 'worldsci_en' "
            "(evaluation.harness.worldsci.tasks.en) does not report 'exact_match'",
        ),
        (
            lambda c: _harness_task(c, "fr", "worldsci_en"),
            "config: evaluation.harness.worldsci.tasks.fr: 'fr' is not a language the config "
            "builds",
        ),
    ],
    ids=["task", "metric", "language"],
)
def test_a_harness_benchmark_with_a_bad_task_metric_or_language_fails_the_plan(
    tmp_path, mutate, message
):
    config = overlaid(load_config("demo.yaml"), "examples/demo-science-harness.yaml")
    mutate(config)
    proc = snakemake(tmp_path, write_config(config, tmp_path), "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in out, out[-3000:]
    assert "Job stats" not in out
