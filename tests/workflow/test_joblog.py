"""A workflow job's process: one log file, and an exit without a last garbage collection."""

import subprocess
import sys


def test_a_job_exits_with_its_objects_frozen_and_its_log_complete(tmp_path):
    log = tmp_path / "logs" / "job.log"
    code = f"""
import atexit, gc, sys
atexit.register(lambda: print(gc.get_freeze_count() > 0))  # runs after the job's handlers
from maec.workflow.joblog import log_job_to
log_job_to({str(log)!r}).info("done")
sys.stderr.write("progress\\r")  # a progress bar's last line has no newline
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    text = log.read_bytes()
    assert b"INFO maec: done\n" in text and text.endswith(b"progress\r")
