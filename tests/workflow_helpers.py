"""Running the workflow from tests: real `snakemake` subprocesses in a scratch directory."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def installed_tool(name: str) -> str | None:
    """An executable of this environment (next to the running Python), else one on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.is_file() else shutil.which(name)


def load_config(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def write_config(config: dict, workdir: Path, name: str = "config.yaml") -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# The usual umask, so that the modes of the outputs are known (tests check them).
UMASK = 0o022


def snakemake(workdir: Path, configfile: Path, *args: str, check: bool = True, timeout=3600):
    """Run snakemake on the repository's Snakefile with `workdir` as working directory,
    under the umask UMASK."""
    cmd = [
        str(SNAKEMAKE),
        *args,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        f"--configfile={configfile}",
        "--replace-workflow-config",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, umask=UMASK)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


JOB_ROW = re.compile(r"^(\w+)\s+(\d+)$")


def planned_jobs(workdir: Path, configfile: Path, *targets: str) -> dict[str, int]:
    """Rule name -> number of jobs that a dry run plans (empty when nothing is to do)."""
    proc = snakemake(workdir, configfile, *targets, "--dry-run", "--quiet", "rules")
    counts: dict[str, int] = {}
    out = proc.stdout + proc.stderr
    if "Job stats:" not in out:
        return counts
    table = out.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        match = JOB_ROW.match(line.strip())
        if not match:
            break
        if match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts
