"""A broken config stops `snakemake` before any job is planned, naming the key: one case of
the schema, one of maec.workflow.config_checks (every other case is checked in this process:
tests/unit/workflow/test_config_checks.py)."""

import copy
import re

import pytest
from helpers.workflow import load_config, snakemake, write_config

pytestmark = pytest.mark.reliability

PAPER = load_config("config.yaml")


def _unknown_key(config):
    config["merge"]["gama"] = 0.3


def _language_without_corpus(config):
    config["general_corpora"].pop("bn")


@pytest.mark.parametrize(
    "mutate, key",
    [(_unknown_key, r"gama"), (_language_without_corpus, r"general_corpora\.bn")],
)
def test_a_broken_config_fails_before_any_job_naming_the_key(tmp_path, mutate, key):
    config = copy.deepcopy(PAPER)
    mutate(config)
    proc = snakemake(tmp_path, write_config(config, tmp_path), "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(key, out), out[-3000:]
    assert "Job stats" not in out
