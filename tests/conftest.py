"""Shared fixtures: one complete demo-world run for every test that needs one, and one
rehearsal of the paper's configuration (with its tied-embedding variant)."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from workflow_helpers import REPO, load_config, snakemake, write_config

from maec.rehearsal import write_rehearsal

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def demo_config():
    return load_config("demo.yaml")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, demo_config):
    """The demo world run end to end, locally, in a scratch working directory."""
    workdir = tmp_path_factory.mktemp("demo")
    configfile = write_config(demo_config, workdir)
    snakemake(workdir, configfile, "--cores", "2")
    return workdir, configfile


@pytest.fixture(scope="session")
def rehearsal_inputs(tmp_path_factory):
    """The rehearsal's inputs (hub-layout backbones, corpora, benchmarks) and configs."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no shared data at {SHARED_DATA} (the rehearsal's real text)")
    out = tmp_path_factory.mktemp("rehearsal")
    return out, write_rehearsal(out, SHARED_DATA, REPO / "config")


@pytest.fixture(scope="session")
def rehearsal_run(rehearsal_inputs):
    """`experiments` on the rehearsal configuration and, alongside it, the tied-embedding
    backbone's MAEC model: two Snakemake runs at once, each filling the cores that the
    other's jobs leave idle while they start; returns {"paper"|"tied": (workdir, snakemake
    output, seconds)}."""
    out, configs = rehearsal_inputs
    runs = [
        ("paper", configs["config.yaml"], "experiments"),
        ("tied", configs["config-tied.yaml"], "results/merged/science.safetensors"),
    ]

    def run(name, configfile, target):
        workdir = out / name
        workdir.mkdir()
        started = time.perf_counter()
        proc = snakemake(workdir, configfile, target, "--cores", "2")
        return name, (workdir, proc.stdout + proc.stderr, time.perf_counter() - started)

    with ThreadPoolExecutor(len(runs)) as pool:
        return dict(pool.map(lambda r: run(*r), runs))
