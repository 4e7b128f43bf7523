"""Faults on the session's complete demo run: the outputs' modes, what a merged model
records, a language added to a finished run, a stale R_Lang."""

import copy
import json
import shutil
import stat

import pytest
import torch
from helpers.workflow import UMASK, load_config, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.reliability

DEMO = load_config("demo.yaml")
torch.set_num_threads(1)


def test_every_output_has_the_modes_the_umask_gives(demo_run):
    workdir, _ = demo_run
    wrong = [
        f"{path.relative_to(workdir)} {stat.S_IMODE(path.stat().st_mode):o}"
        for top in ("results", "logs")
        for path in (workdir / top).rglob("*")
        if not path.is_symlink()
        and stat.S_IMODE(path.stat().st_mode) != (0o777 if path.is_dir() else 0o666) & ~UMASK
    ]
    assert wrong == []


def test_a_merged_model_directory_records_its_merge_not_the_backbone_training(demo_run):
    workdir, _ = demo_run
    for ability in DEMO["abilities"]:
        model_dir = workdir / "results" / "merged" / f"{ability}.hf"
        assert not (model_dir / "training.json").exists()
        record = json.loads((model_dir / "merge.json").read_text())
        assert record["kind"] == "merge" and record["gamma"] == str(DEMO["merge"]["gamma"])
        assert record["r_lang"] == "results/deltas/r_lang.safetensors"


def test_a_language_added_to_a_complete_run_gets_its_weights_and_a_new_r_lang(demo_run):
    workdir, _ = demo_run
    config = copy.deepcopy(DEMO)
    config["languages"].append("es419")
    config["general_corpora"]["es419"] = {"source": "results/world/corpora/general_es419.jsonl"}
    configfile = write_config(config, workdir, "added_language.yaml")
    plan = planned_jobs(workdir, configfile, "results/merged/math.safetensors")
    assert plan["language_weights"] == len(config["languages"])
    assert plan["r_lang"] == 1 and plan["merge"] == 1


def test_a_stale_r_lang_is_never_merged(demo_run, tmp_path):
    """μ changed, and Snakemake told to rerun on modification times only: R_Lang is not
    rebuilt, and the merge, forced, stops with both μ named; its failed log is shown."""
    workdir = tmp_path / "demo"
    shutil.copytree(demo_run[0], workdir, symlinks=True)
    config = copy.deepcopy(DEMO)
    config["language_weights"]["mu"]["es"] = 2.0
    configfile = write_config(config, workdir, "mu.yaml")
    target = "results/merged/math.safetensors"
    proc = snakemake(
        workdir,
        configfile,
        "--cores",
        "1",
        "--rerun-triggers",
        "mtime",
        "--forcerun",
        "merge",
        "--show-failed-logs",
        target,
        check=False,
    )
    made = "{'bn': 1.2, 'es': 1.5, 'te': 1.2, 'zh': 1.0}"
    asked = "{'bn': 1.2, 'es': 2.0, 'te': 1.2, 'zh': 1.0}"
    assert proc.returncode != 0
    assert (
        f"R_Lang was made for the languages bn, es, te, zh with μ {made}, but the "
        f"configuration asks for bn, es, te, zh with μ {asked}"
    ) in proc.stdout + proc.stderr
    assert not (workdir / target).exists()
    assert not [p.name for p in (workdir / "results" / "merged").iterdir() if ".tmp" in p.name]


def test_languages_changed_and_back_leave_the_first_configuration_whole(demo_run):
    """A target language dropped while its benchmarks stay is refused while the workflow
    plans (it used to rerun the world generator, which failed and took the world with it);
    back on the first configuration, no file has changed and the plan is what it was."""
    workdir, configfile = demo_run
    plan = planned_jobs(workdir, configfile)
    files = {
        path: path.stat().st_mtime_ns for path in (workdir / "results").rglob("*") if path.is_file()
    }
    config = copy.deepcopy(DEMO)
    config["languages"].remove("te")
    config["language_weights"]["mu"].pop("te", None)
    changed = write_config(config, workdir, "without_te.yaml")
    proc = snakemake(workdir, changed, "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "'te' is not a language the demo world builds" in proc.stdout + proc.stderr
    assert planned_jobs(workdir, configfile) == plan
    after = {
        path: path.stat().st_mtime_ns for path in (workdir / "results").rglob("*") if path.is_file()
    }
    assert after == files
