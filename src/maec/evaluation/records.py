"""Per-example records and score summaries, written atomically (temporary name, then rename)."""

import json
from collections.abc import Iterable
from pathlib import Path

from maec.io.atomic import write_text


def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def write_json(path: str | Path, data: dict) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
