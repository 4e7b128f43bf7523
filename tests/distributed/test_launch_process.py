"""What a training job's own process does before torchrun takes over."""

import subprocess
import sys


def test_the_launching_process_imports_no_torch():
    """The job's own process only checks and starts torchrun: importing torch there would
    add seconds to every multi-process training job."""
    code = "import sys, maec.workflow.joblog, maec.training.launch; "
    code += "print({'torch', 'transformers'} & set(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "set()"
