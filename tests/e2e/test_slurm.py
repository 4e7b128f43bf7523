"""The cluster path for real, on the local single-node Slurm that .ci/slurm starts (two GPUs
by count only: GPU jobs are accepted, their processes run on the CPU): the rehearsal of the
paper's configuration through the Slurm executor (every job an sbatch job), compared with
its local run; the sbatch calls of GPU and several-node training jobs; two Slurm tasks
acting as two nodes."""

import copy
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers.training import partial_mask, weights
from helpers.workflow import REPO, planned_jobs, snakemake, write_config
from safetensors.torch import load_file, save_file

from maec.io.reader import fingerprint
from maec.training import train

pytestmark = pytest.mark.slurm


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


# A copy of the local demo run's world, tokenizer, backbone and token blocks, with
# Snakemake's records of them (so they count as done): where the sbatch calls of training
# jobs are made and checked. The cluster path itself runs on the rehearsal, below.
DEMO_UPSTREAM = ("world", "tokenizer", "backbone_init", "backbone", "tokens")


def demo_copy(demo_run, workdir):
    local_dir, _ = demo_run
    for name in DEMO_UPSTREAM:
        shutil.copytree(local_dir / "results" / name, workdir / "results" / name)
    shutil.copytree(local_dir / ".snakemake" / "metadata", workdir / ".snakemake" / "metadata")
    return workdir


# What the Slurm run of the rehearsal starts from: the local rehearsal's downloaded backbone,
# token blocks, importance runs and key neurons, with Snakemake's records of them. From the
# masked CPT on, the method runs through Slurm: its masked CPT runs as torchrun jobs on 2
# GPUs' worth of processes. (Each Slurm job starts a Snakemake of its own, about half a
# minute here: the masks' light jobs are left to the local run.)
REHEARSAL_UPSTREAM = ("backbone", "tokens", "importance", "masks")


@pytest.fixture(scope="module")
def slurm_rehearsal(rehearsal_inputs, rehearsal_run):
    """The README's cluster command on the rehearsal configuration, the paper's branch as
    sbatch jobs; returns the working directory, Snakemake's output and the planned jobs."""
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    out, configs = rehearsal_inputs
    local_dir, _, _ = rehearsal_run["paper"]
    workdir = out / "slurm"
    for name in REHEARSAL_UPSTREAM:
        shutil.copytree(local_dir / "results" / name, workdir / "results" / name)
    shutil.copytree(local_dir / ".snakemake" / "metadata", workdir / ".snakemake" / "metadata")
    target = "results/merged/math.safetensors"
    plan = planned_jobs(workdir, configs["config.yaml"], target)
    proc = snakemake(workdir, configs["config.yaml"], target, *LOCAL_SLURM)
    return workdir, proc.stdout + proc.stderr, plan


def test_sbatch_options_of_a_gpu_rule(demo_run, demo_config, tmp_path):
    """A training job asking for GPUs: the plugin's real sbatch call carries them.
    `--test-only` lets Slurm check the request without queueing it (this Slurm has no h100
    GPUs: it refuses the request, and the call is in the error)."""
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    workdir = demo_copy(demo_run, tmp_path)
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
        "--set-resources",
        "importance_cpt:slurm_extra='--test-only'",
        "--retries",
        "0",
        check=False,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    calls = [line for line in output.splitlines() if line.strip().startswith("sbatch --")]
    assert calls, output[-3000:]
    call = calls[0]
    assert "rule_importance_cpt" in call
    for option in ("--gpus=h100:2", "-t 2880", "--mem 64000", "--cpus-per-task=16", "-p local"):
        assert option in call, (option, call)
    assert "--gres" not in call


def test_sbatch_options_of_a_two_node_training_job(demo_run, demo_config, tmp_path):
    """resources.train.nodes 2: the plugin's sbatch call asks for two nodes and one task
    per node (the job's script runs once; maec.training.launch starts torchrun on each node).
    `--test-only` lets Slurm check the request without queueing it; this one-node Slurm
    refuses it, and the call is in the error."""
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    demo_copy(demo_run, tmp_path)
    config = copy.deepcopy(demo_config)
    config["resources"]["train"] = {
        "gpu": 4,
        "gpu_model": "h100",
        "nodes": 2,
        "mem_mb": 64000,
        "runtime": 2880,
        "threads": 16,
    }
    configfile = write_config(config, tmp_path, "nodes.yaml")
    proc = snakemake(
        tmp_path,
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
        "--set-resources",
        "importance_cpt:slurm_extra='--test-only'",
        "--retries",
        "0",
        check=False,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    calls = [line for line in output.splitlines() if line.strip().startswith("sbatch --")]
    assert calls, output[-3000:]
    call = calls[0]
    for option in ("--nodes=2", "--ntasks=2", "--gpus=h100:8", "--mem 64000", "--cpus-per-task=16"):
        assert option in call, (option, call)
    assert "--ntasks-per-gpu" not in call


TWO_NODE_SCRIPT = """
import json, logging, sys
from maec.training.launch import launch_training
logging.basicConfig(level=logging.INFO)
args = json.loads(open(sys.argv[1]).read())
launch_training(0, args.pop("backbone"), args.pop("corpora"), args.pop("out_dir"), nodes=2,
                threads=1, **args)
"""


def write_mask_file(mask: dict, path, model: str) -> None:
    """A mask in the package's file format (bit-packed, little bit order), from booleans."""
    packed = {
        name: torch.from_numpy(np.packbits(bits.numpy().reshape(-1), bitorder="little"))
        for name, bits in mask.items()
    }
    shapes = {name: list(bits.shape) for name, bits in mask.items()}
    save_file(
        packed, str(path), metadata={"model": json.dumps(model), "shapes": json.dumps(shapes)}
    )


def test_two_slurm_tasks_as_two_nodes_match_one_process(world):
    """A Slurm job of 2 tasks on the one node, each acting as a node: srun starts torchrun
    --nnodes 2 --nproc-per-node 1 in each (c10d rendezvous, gloo), sparse optimizer state;
    the weights of one process accumulating the same micro-batches."""
    if not slurm_is_up():
        pytest.skip("no Slurm here (.ci/slurm start brings one up)")
    tmp, cats, dogs = world
    mask = partial_mask(weights(tmp / "fp32"))
    write_mask_file(mask, tmp / "mask.safetensors", fingerprint(tmp / "fp32"))
    args = dict(
        mask=str(tmp / "mask.safetensors"),
        optimizer_state="sparse",
        lr=1e-2,
        total_tokens=4 * 128,
        batch_tokens=128,
        micro_batch_size=2,
        seed=2,
        weight_decay=0.1,
    )
    corpora = [[cats, 0.5], [dogs, 0.5]]
    (tmp / "job.json").write_text(
        json.dumps(
            dict(backbone=str(tmp / "fp32"), corpora=corpora, out_dir=str(tmp / "two"), **args)
        )
    )
    (tmp / "job.py").write_text(TWO_NODE_SCRIPT)
    proc = subprocess.run(
        [
            "sbatch",
            "--wait",
            "--nodes=1",
            "--ntasks=2",
            "--cpus-per-task=1",
            f"--output={tmp / 'job.log'}",
            f"--chdir={tmp}",
            f"--export=ALL,OMP_NUM_THREADS=1,PYTHONPATH={REPO / 'src'}",
            "--wrap",
            f"{sys.executable} {tmp / 'job.py'} {tmp / 'job.json'}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = (tmp / "job.log").read_text() if (tmp / "job.log").exists() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr + log[-4000:]
    assert "--nnodes=2" in log and "srun" in log  # the launch command is logged
    two = json.loads((tmp / "two" / "training.json").read_text())
    assert two["args"]["world_size"] == 2 and two["gradient_accumulation"] == 2
    one = train(tmp / "fp32", [tuple(c) for c in corpora], tmp / "one", device="cpu", **args)
    assert one["gradient_accumulation"] == 4
    before, got, expected = (weights(tmp / d) for d in ("fp32", "two", "one"))
    for name in before:
        inside = mask.get(name, torch.zeros(before[name].shape, dtype=torch.bool))
        assert torch.equal(
            got[name].view(torch.int32)[~inside], before[name].view(torch.int32)[~inside]
        ), name
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)


SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")


@pytest.mark.rehearsal
def test_rehearsal_training_jobs_asked_slurm_for_their_gpus(slurm_rehearsal):
    """Every planned job went through sbatch; Slurm (which keeps finished jobs for an hour)
    records the training jobs with their two GPUs, and they trained on two processes."""
    workdir, output, plan = slurm_rehearsal
    submitted = SUBMITTED.findall(output)
    assert len(submitted) == sum(plan.values()) >= 14, output[-3000:]
    training = [job for job, log in submitted if re.search(r"rule_masked_cpt", log)]
    assert len(training) == 6, submitted  # Θ_{A,L0}, Θ_{L0} and four Θ_{Li,L0}
    for job in training:
        record = subprocess.run(
            ["scontrol", "show", "job", "-o", job], capture_output=True, text=True
        ).stdout
        assert "TresPerJob=gres:gpu:2" in record, record
    summary = json.loads((workdir / "results/cpt/general_en/training.json").read_text())
    assert summary["args"]["world_size"] == 2


@pytest.mark.rehearsal
def test_slurm_rehearsal_matches_the_local_one(slurm_rehearsal, rehearsal_run):
    slurm_dir, _, _ = slurm_rehearsal
    local_dir, _, _ = rehearsal_run["paper"]
    local = load_file(local_dir / "results/merged/math.safetensors")
    remote = load_file(slurm_dir / "results/merged/math.safetensors")
    assert local.keys() == remote.keys()
    for name in local:
        assert local[name].equal(remote[name]), name
