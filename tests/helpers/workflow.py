"""Running the workflow from tests: real `snakemake` subprocesses in a scratch directory."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from helpers import REPO

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


def snakemake_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """snakemake on the repository's Snakefile with `workdir` as working directory."""
    return [
        str(SNAKEMAKE),
        *args,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        f"--configfile={configfile}",
        "--replace-workflow-config",
    ]


def snakemake(workdir: Path, configfile: Path, *args: str, check: bool = True, timeout=3600):
    """Run snakemake on the repository's Snakefile with `workdir` as working directory,
    under the umask UMASK."""
    cmd = snakemake_command(workdir, configfile, *args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, umask=UMASK)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


class BackgroundSnakemake:
    """A snakemake run started now and awaited later (`result`). Its output goes to `log`
    (a pipe that nobody reads would fill and stall it); it has a process group of its own,
    so that `stop` ends it with every job it started."""

    def __init__(self, workdir: Path, configfile: Path, *args: str, log: Path):
        self.cmd = snakemake_command(workdir, configfile, *args)
        self.log = log
        self.started = time.perf_counter()
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                self.cmd, stdout=out, stderr=subprocess.STDOUT, umask=UMASK, start_new_session=True
            )
        self.seconds: float | None = None
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        self.proc.wait()
        self.seconds = time.perf_counter() - self.started

    def result(self) -> tuple[str, float]:
        """Snakemake's output and the run's wall time, once it has finished; a failed run
        raises, as snakemake() does."""
        self._waiter.join()
        output = self.log.read_text()
        if self.proc.returncode != 0:
            raise AssertionError(
                f"snakemake failed ({self.proc.returncode}): {' '.join(self.cmd)}\n"
                f"{output[-12000:]}"
            )
        return output, self.seconds

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


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


def planned_params(workdir: Path, configfile: Path, target: str) -> dict[str, list[dict]]:
    """Rule name -> the params of each job that `target` plans from scratch, as Snakemake
    computes them (what decides a params rerun), without running anything."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, ResourceSettings

    with SnakemakeApi() as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[configfile], replace_workflow_config=True),
            snakefile=REPO / "Snakefile",
            workdir=workdir,
        )
        workflow_api.dag(DAGSettings(targets={target}))
        workflow = workflow_api._workflow
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        jobs: dict[str, list[dict]] = {}
        for job in workflow.dag.jobs:
            jobs.setdefault(job.rule.name, []).append(dict(job.params.items()))
        return jobs
