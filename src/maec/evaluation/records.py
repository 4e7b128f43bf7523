"""Per-example records and score summaries, written atomically (temporary name, then rename),
and the account a summary gives of the items of its benchmark files.

No item of a benchmark file is dropped silently: a malformed one stops the run (the
loaders), and one left out on purpose (a configured `limit`, a subject not scored) is
counted in the summary: `items` (in the files), `scored`, and `not_scored`, the items each
selection left out, so that `items` is `scored` plus the counts of `not_scored`.
"""

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from maec.io.atomic import write_text


def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def write_json(path: str | Path, data: dict) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def first_items(items: Sequence, limit: int | None) -> list:
    """The first `limit` items (all of them without one). A limit that is not a positive
    whole number is an error: zero or a negative slice would drop items nobody asked to."""
    if limit is None:
        return list(items)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive number of items or None, got {limit!r}")
    return list(items[:limit])


def item_account(items: int, left_after: dict[str, int]) -> dict:
    """The summary's `items`, `scored` and `not_scored`. `left_after` maps each selection, in
    the order it is applied, to how many items it left (e.g. {"limit": 10}); what each one
    left out is counted under its name, and what the last one left is what is scored."""
    not_scored, left = {}, items
    for selection, after in left_after.items():
        not_scored[selection] = left - after
        left = after
    return {"items": items, "scored": left, "not_scored": not_scored}
