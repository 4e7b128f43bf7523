"""One log file per workflow job: Python logging, warnings and progress bars all go there;
and a quick exit for the job's process."""

import atexit
import gc
import logging
import sys
from pathlib import Path


def skip_exit_collection() -> None:
    """Let this process exit without the garbage collector's passes over every object that
    torch and transformers created (a second or two of CPU per process at shutdown): at
    exit, what is alive is frozen, and the operating system reclaims it. Files are flushed
    as usual (logging's own exit handler, the standard streams)."""
    atexit.register(gc.freeze)


def log_job_to(path: str | Path) -> logging.Logger:
    """Send this process's logging and stderr (tqdm writes there) to `path`; the process
    exits without a last collection (`skip_exit_collection`)."""
    skip_exit_collection()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1, encoding="utf-8")
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger("maec")
