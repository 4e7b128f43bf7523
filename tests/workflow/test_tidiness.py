"""The workflow's tidiness: Snakemake's lint, snakefmt, ruff, and the conda environments'
pins against the project's."""

import re
import subprocess
import tomllib

import pytest
import yaml
from helpers.workflow import REPO, SNAKEMAKE


def test_lint_reports_nothing():
    for configfile in ["config/config.yaml", "config/demo.yaml"]:
        proc = subprocess.run(
            [str(SNAKEMAKE), "--lint", f"--configfile={configfile}", "--replace-workflow-config"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "good condition" in out, out[-3000:]


def test_snakefmt_check_passes():
    snakefmt = SNAKEMAKE.with_name("snakefmt")
    proc = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "workflow"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_passes(command):
    ruff = SNAKEMAKE.with_name("ruff")
    proc = subprocess.run([str(ruff), *command, "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _pins(requirements):
    pins = {}
    for req in requirements:
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^;\s]+)", req.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_conda_environments_match_the_project_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = _pins(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pinned.update(_pins(extra))
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        for name, version in _pins(pip).items():
            assert pinned.get(name) == version, f"{env.name}: {name}=={version}"
