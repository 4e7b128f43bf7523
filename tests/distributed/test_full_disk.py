"""A full disk, in a process of its own: a write that does not fit names the output and
leaves nothing behind.

Writes past 4 KiB fail with EFBIG, as they do on a full disk (ENOSPC). The limit
(RLIMIT_FSIZE) is set in a child process only: it applies to every file a process writes,
and the test runner's own output may be a file."""

import os
import re
import subprocess
import sys

import pytest
import torch
from helpers.checkpoints import listing
from helpers.workflow import REPO

pytestmark = pytest.mark.reliability
torch.set_num_threads(1)


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
out = sys.argv[1]
try:
{body}
except OSError as error:
    print(error)
"""


def on_a_full_disk(body: str, out) -> str:
    """Run `body` (which writes `out`) where files cannot grow past 4 KiB; its error."""
    code = FULL_DISK.format(body="\n".join("    " + line for line in body.splitlines()))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_a_checkpoint_that_does_not_fit_names_the_output(tmp_path):
    out = tmp_path / "deltas" / "r_lang.safetensors"
    error = on_a_full_disk(
        "import torch\n"
        "from maec.io.writer import CheckpointWriter\n"
        "with CheckpointWriter(out, {'t': ((64, 64), torch.float32)}) as writer:\n"
        "    writer.write('t', 0, torch.zeros(64, 64))",
        out,
    )
    assert re.search(r"File too large: '.*deltas/r_lang.safetensors'", error), error
    assert listing(tmp_path / "deltas") == []


def test_a_text_output_that_does_not_fit_names_the_output(tmp_path):
    out = tmp_path / "eval" / "mgsm_en.jsonl"
    error = on_a_full_disk(
        "from maec.io.atomic import write_text\nwrite_text(out, 'x' * 10_000)", out
    )
    assert re.search(r"File too large: '.*eval/mgsm_en.jsonl'", error), error
    assert listing(tmp_path / "eval") == []
