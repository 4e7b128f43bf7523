"""The cluster path for real: the demo world, and the rehearsal of the paper's configuration,
through the Slurm executor (every job an sbatch job) on the local single-node Slurm that
.ci/slurm starts (two GPUs by count only: GPU jobs are accepted, their processes run on the
CPU), each compared with its local run."""

import copy
import json
import re
import shutil
import subprocess

import pytest
from safetensors.torch import load_file
from workflow_helpers import REPO, planned_jobs, snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def slurm_is_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return proc.returncode == 0 and ("idle" in proc.stdout or "mix" in proc.stdout)


# The profile, with what this Slurm needs: no account, job status from squeue (no
# accounting), its one partition, and short waits between status checks.
LOCAL_SLURM = [
    "--profile",
    str(REPO / "slurm"),
    "--jobs",
    "2",
    "--slurm-no-account",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
    "--default-resources",
    "slurm_partition=local",
    "--retries",
    "0",
]


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, demo_config):
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    workdir = tmp_path_factory.mktemp("slurm")
    configfile = write_config(demo_config, workdir)
    proc = snakemake(workdir, configfile, *LOCAL_SLURM)
    return workdir, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def slurm_rehearsal(rehearsal_inputs):
    """The README's cluster command on the rehearsal configuration: the paper's branch
    (hub downloads, datasets, torchrun on 2 GPUs' worth of processes) as sbatch jobs."""
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    out, configs = rehearsal_inputs
    workdir = out / "slurm"
    workdir.mkdir()
    proc = snakemake(
        workdir, configs["config.yaml"], "results/merged/math.safetensors", *LOCAL_SLURM
    )
    return workdir, proc.stdout + proc.stderr


def test_every_job_went_through_sbatch(slurm_run, tmp_path, demo_config):
    _, output = slurm_run
    plan = planned_jobs(tmp_path, write_config(demo_config, tmp_path))
    expected = sum(plan.values()) - plan["all"]  # `all` is a local rule with nothing to run
    submitted = output.count("has been submitted with SLURM jobid")
    assert submitted == expected, output[-3000:]


def test_slurm_result_matches_the_local_run(slurm_run, demo_run):
    slurm_dir, _ = slurm_run
    local_dir, _ = demo_run
    for ability in ("math", "science"):
        local = load_file(local_dir / f"results/merged/{ability}.safetensors")
        remote = load_file(slurm_dir / f"results/merged/{ability}.safetensors")
        assert local.keys() == remote.keys()
        for name in local:
            assert local[name].equal(remote[name]), name
    assert (slurm_dir / "results/tables/results.csv").read_text() == (
        local_dir / "results/tables/results.csv"
    ).read_text()


def test_sbatch_options_of_a_gpu_rule(slurm_run, demo_config):
    """A training job asking for GPUs: the plugin's real sbatch call carries them (this
    Slurm has no h100 GPUs, so sbatch refuses the job, and the call is in the error)."""
    workdir, _ = slurm_run
    config = copy.deepcopy(demo_config)
    config["resources"]["train"] = {
        "gpu": 2,
        "gpu_model": "h100",
        "mem_mb": 64000,
        "runtime": 2880,
        "threads": 16,
    }
    configfile = write_config(config, workdir, "gpu.yaml")
    proc = snakemake(
        workdir,
        configfile,
        "results/importance/general_es",
        "--forcerun",
        "importance_cpt",
        "--profile",
        str(REPO / "slurm"),
        "--slurm-no-account",
        "--slurm-status-command",
        "squeue",
        "--default-resources",
        "slurm_partition=local",
        "--retries",
        "0",
        check=False,
    )
    output = proc.stdout + proc.stderr
    calls = [line for line in output.splitlines() if line.strip().startswith("sbatch --")]
    assert calls, output[-3000:]
    call = calls[0]
    assert "rule_importance_cpt" in call
    for option in ("--gpus=h100:2", "-t 2880", "--mem 64000", "--cpus-per-task=16", "-p local"):
        assert option in call, (option, call)
    assert "--gres" not in call


SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")


@pytest.mark.rehearsal
def test_rehearsal_training_jobs_asked_slurm_for_their_gpus(slurm_rehearsal):
    """Every job went through sbatch; Slurm (which keeps finished jobs for an hour) records
    the training jobs with their two GPUs, and they trained on two processes."""
    workdir, output = slurm_rehearsal
    submitted = SUBMITTED.findall(output)
    assert len(submitted) >= 30, output[-3000:]
    training = [job for job, log in submitted if re.search(r"rule_(importance|masked)_cpt", log)]
    assert len(training) == 12, submitted
    for job in training:
        record = subprocess.run(
            ["scontrol", "show", "job", "-o", job], capture_output=True, text=True
        ).stdout
        assert "TresPerJob=gres:gpu:2" in record, record
    summary = json.loads((workdir / "results/cpt/general_en/training.json").read_text())
    assert summary["args"]["world_size"] == 2


@pytest.mark.rehearsal
def test_slurm_rehearsal_matches_the_local_one(slurm_rehearsal, rehearsal_run):
    slurm_dir, _ = slurm_rehearsal
    local_dir, _, _ = rehearsal_run["paper"]
    local = load_file(local_dir / "results/merged/math.safetensors")
    remote = load_file(slurm_dir / "results/merged/math.safetensors")
    assert local.keys() == remote.keys()
    for name in local:
        assert local[name].equal(remote[name]), name
