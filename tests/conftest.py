"""Shared fixtures: one complete demo-world run for every test that needs one."""

import pytest
from workflow_helpers import load_config, snakemake, write_config


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
