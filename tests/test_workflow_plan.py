"""The workflow's DAG on the paper's configuration, config validation, and its tidiness."""

import copy
import re
import subprocess
import tomllib

import pytest
import yaml
from workflow_helpers import REPO, SNAKEMAKE, load_config, planned_jobs, snakemake, write_config

PAPER = load_config("config.yaml")

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


def _broken(mutate):
    config = copy.deepcopy(PAPER)
    mutate(config)
    return config


INVALID = {
    "unknown key": (
        _broken(lambda c: c["merge"].update(gama=0.3)),
        r"gama",
    ),
    "wrong type": (
        _broken(lambda c: c["merge"].update(gamma="high")),
        r"gamma|high",
    ),
    "k1 = 0": (
        _broken(lambda c: c["key_neurons"].update(k1=0)),
        r"k1",
    ),
    "k1 > 1": (
        _broken(lambda c: c["key_neurons"].update(k1=5)),
        r"k1",
    ),
    "language with no corpus": (
        _broken(lambda c: c["general_corpora"].pop("bn")),
        r"general_corpora\.bn",
    ),
    "ability with no corpus": (
        _broken(lambda c: c["abilities"]["math"].pop("corpus")),
        r"corpus",
    ),
    "corpus that is no file, directory or hub id": (
        _broken(lambda c: c["abilities"]["science"]["corpus"].update(source="arxiv papers")),
        r"abilities\.science\.corpus\.source: 'arxiv papers' is neither",
    ),
    "local corpus file with a configuration name": (
        _broken(lambda c: c["general_corpora"]["es"].update(source="corpora/es.jsonl")),
        r"general_corpora\.es\.source: corpora/es\.jsonl: a local file is read whole",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_config_fails_before_any_job_naming_the_key(tmp_path, case):
    config, key = INVALID[case]
    configfile = write_config(config, tmp_path)
    proc = snakemake(tmp_path, configfile, "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(key, out), out[-3000:]
    assert "Job stats" not in out


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
