"""What a delta or merged model was made from, recorded in its header by one helper.

Every writer of deltas (R(A), R(Li), R_Lang, packs) and of merged models (Eq. 5, several
abilities, task arithmetic, TIES, DARE, layer swapping) records, in this order: its `kind`;
the settings it was made with; `model`, the model fingerprint (names and shapes) it fits;
`backbone`, the backbone's path; `backbone_fingerprint` (`BACKBONE_KEY`: names, shapes,
dtypes and sampled bytes, so that two backbones of one architecture differ); its inputs'
paths; and what the writer found (how many tensors T holds, what the revert cut). A string
is recorded as it is, anything else as JSON.

A delta that records its backbone merges only with that backbone, and deltas of different
backbones never meet (`check_backbone`, `recorded_backbone`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from maec.io.format import CheckpointError
from maec.io.reader import Checkpoint, content_fingerprint

BACKBONE_KEY = "backbone_fingerprint"


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Path):
        return str(value)
    return json.dumps(value)


def provenance(
    kind: str,
    *,
    model: str,
    settings: Mapping | None = None,
    backbone: str | Path | None = None,
    backbone_fingerprint: str | None = None,
    inputs: Mapping | None = None,
    results: Mapping | None = None,
) -> dict[str, str]:
    """The header metadata of an output, in the order above."""
    header = {"kind": kind}
    header |= {key: _text(value) for key, value in (settings or {}).items()}
    header["model"] = model
    if backbone is not None:
        header["backbone"] = str(backbone)
    if backbone_fingerprint is not None:
        header[BACKBONE_KEY] = backbone_fingerprint
    header |= {key: _text(value) for key, value in (inputs or {}).items()}
    header |= {key: _text(value) for key, value in (results or {}).items()}
    return header


def recorded_backbone(deltas: Sequence[Checkpoint]) -> str | None:
    """The backbone fingerprint the deltas record (None if none does); deltas of different
    backbones are an error naming them."""
    recorded = {d.metadata[BACKBONE_KEY]: d for d in deltas if BACKBONE_KEY in d.metadata}
    if len(recorded) > 1:
        (a, first), (b, second) = list(recorded.items())[:2]
        raise CheckpointError(
            f"{first.path} and {second.path} were made from different backbones "
            f"(fingerprints {a} and {b})"
        )
    return next(iter(recorded), None)


def check_backbone(backbone: Checkpoint, deltas: Sequence[Checkpoint]) -> None:
    """Every delta that records its backbone was made from ``backbone``."""
    recorded = recorded_backbone(deltas)
    if recorded is None:
        return
    actual = content_fingerprint(backbone)
    if recorded != actual:
        delta = next(d for d in deltas if d.metadata.get(BACKBONE_KEY) == recorded)
        raise CheckpointError(
            f"{delta.path} was made from a backbone with other weights than {backbone.path} "
            f"(backbone fingerprint {recorded}, {backbone.path} has {actual}): either another "
            f"backbone, or {backbone.path} changed or was corrupted after the deltas were made; "
            "an ability pack merges only with the backbone it was extracted from and language "
            "weights built on it"
        )
