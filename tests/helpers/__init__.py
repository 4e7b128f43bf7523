"""What the tests share: tiny models and checkpoints, configs, workflow runs, training worlds,
processes."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"  # ../shared/data: real text, where it exists
