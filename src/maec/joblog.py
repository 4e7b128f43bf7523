"""One log file per workflow job: Python logging, warnings and progress bars all go there."""

import logging
import sys
from pathlib import Path


def log_job_to(path: str | Path) -> logging.Logger:
    """Send this process's logging and stderr (tqdm writes there) to `path`."""
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
