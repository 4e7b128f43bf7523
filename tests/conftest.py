"""Shared fixtures: a tiny training world, one complete demo-world run for every test that
needs one, and one rehearsal of the paper's configuration (with its tied-embedding
variant), started in the background with the session.

The tiers are folders: `unit/` (in-process, per package), `distributed/` (tests that start
training processes: torchrun on 2 CPU processes, a killed and resumed run, the launching
process, a full disk), `workflow/` (`snakemake` on small things: plans, two refusals, lint,
a job's log), `e2e/` (whole runs: the demo world, the rehearsal, Slurm). Every test under
`e2e/` is marked `e2e`, which the default run (`make test`) leaves out.
"""

import pytest
import torch
from helpers import REPO, SHARED_DATA
from helpers.training import make_backbone, make_corpus
from helpers.workflow import BackgroundSnakemake, load_config, snakemake, write_config

from maec.rehearsal import write_rehearsal
from maec.training.backends import free_port

E2E = REPO / "tests" / "e2e"


def pytest_collection_modifyitems(items):
    """Mark the e2e tier, and run it last, the tests that wait for the rehearsal at the very
    end: the rehearsal runs in the background from the session's start, and the cheaper
    tiers and the demo world's run fill the cores it leaves idle meanwhile."""
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)

    def tier(item):
        if E2E not in item.path.parents:
            return 0
        return 2 if "rehearsal_run" in item.fixturenames else 1

    items.sort(key=tier)  # stable: collection order within a tier


@pytest.fixture
def world(tmp_path):
    """Tiny LLaMA backbones in bf16 and fp32 and two packed corpora: (dir, cats, dogs)."""
    make_backbone(tmp_path / "bf16", torch.bfloat16)
    make_backbone(tmp_path / "fp32", torch.float32)
    cats = make_corpus(tmp_path, "cats", ["the cat sat on a mat", "a cat ran far away"], 40)
    dogs = make_corpus(tmp_path, "dogs", ["the dog ran", "a dog sat on the mat"], 40)
    return tmp_path, cats, dogs


@pytest.fixture
def deepspeed_env(monkeypatch):
    """A one-process launch's environment, as DeepSpeed reads it."""
    pytest.importorskip("deepspeed")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)


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


@pytest.fixture(scope="session", autouse=True)
def rehearsal_started(request):
    """The rehearsal starts with the session when a selected test needs it: `experiments` on
    the rehearsal configuration and, beside it, the tied-embedding backbone's MAEC model, two
    Snakemake runs in processes of their own. Most tests that come before the rehearsal's
    use one core of two, and the demo world's runs leave one idle between their stages: the
    rehearsal's jobs fill those cores, which shortens the whole suite by several minutes.
    Returns {"paper"|"tied": (workdir, run)}, or None when no selected test needs it."""
    needed = any("rehearsal_run" in item.fixturenames for item in request.session.items)
    if not needed or not SHARED_DATA.is_dir():
        yield None
        return
    out, configs = request.getfixturevalue("rehearsal_inputs")
    runs = {}
    for name, configfile, target in [
        ("paper", configs["config.yaml"], "experiments"),
        ("tied", configs["config-tied.yaml"], "results/merged/science.safetensors"),
    ]:
        workdir = out / name
        workdir.mkdir()
        log = out / f"{name}.snakemake.log"
        run = BackgroundSnakemake(workdir, configfile, target, "--cores", "2", log=log)
        runs[name] = workdir, run
    yield runs
    for _, run in runs.values():  # a session that ends before the rehearsal's tests (-x)
        run.stop()


@pytest.fixture(scope="session")
def rehearsal_run(rehearsal_started, rehearsal_inputs):
    """The rehearsal's two runs, finished: {"paper"|"tied": (workdir, snakemake output,
    seconds from the session's start)}."""
    return {name: (workdir, *run.result()) for name, (workdir, run) in rehearsal_started.items()}
