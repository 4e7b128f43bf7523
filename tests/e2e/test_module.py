"""The workflow used as a module of another, as the catalog's users deploy it (`module maec:
snakefile: ...` + `use rule * from maec as maec_*`): on the demo's finished run it plans what
the workflow itself plans, and its merge, forced, writes the demo's MAEC model bit for bit."""

import shutil
import subprocess

from helpers import REPO
from helpers.workflow import SNAKEMAKE, UMASK, load_config, planned_jobs, write_config

DEMO = load_config("demo.yaml")
TARGET = "results/merged/math.safetensors"
MODULE = f'''\
module maec:
    snakefile:
        "{REPO / "Snakefile"}"
    config:
        config


use rule * from maec as maec_*
'''


def module_snakemake(workdir, configfile, *args):
    command = [
        str(SNAKEMAKE),
        *args,
        "--snakefile",
        str(workdir / "module" / "Snakefile"),
        "--directory",
        str(workdir),
        f"--configfile={configfile}",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, umask=UMASK, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def module_plan(workdir, configfile) -> dict[str, int]:
    out = module_snakemake(workdir, configfile, "--dry-run", TARGET, "--quiet", "rules")
    counts = {}
    if "Job stats:" in out:
        for line in out.split("Job stats:", 1)[1].splitlines()[3:]:
            parts = line.split()
            if len(parts) != 2 or parts[0] == "total":
                break
            counts[parts[0].removeprefix("maec_")] = int(parts[1])
    return counts


def test_the_workflow_as_a_module_plans_as_itself_and_remakes_the_maec_model(demo_run, tmp_path):
    workdir = tmp_path / "demo"
    shutil.copytree(demo_run[0], workdir, symlinks=True)
    (workdir / "module").mkdir()
    (workdir / "module" / "Snakefile").write_text(MODULE)
    configfile = write_config(DEMO, workdir, "module.yaml")
    assert module_plan(workdir, configfile) == planned_jobs(workdir, configfile, TARGET)
    made = (workdir / TARGET).read_bytes()
    out = module_snakemake(workdir, configfile, "--cores", "1", "--forcerun", "maec_merge", TARGET)
    assert "maec_merge" in out
    assert (workdir / TARGET).read_bytes() == made
