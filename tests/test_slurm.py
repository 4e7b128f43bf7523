"""The cluster path for real: the demo world through the Slurm executor (every job an sbatch
job) on the local single-node Slurm that .ci/slurm starts, compared with a local run."""

import copy
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


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, demo_config):
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    workdir = tmp_path_factory.mktemp("slurm")
    configfile = write_config(demo_config, workdir)
    proc = snakemake(
        workdir,
        configfile,
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
    Slurm has no GPUs, so sbatch refuses the job, and the call is in the error)."""
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
