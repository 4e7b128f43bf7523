"""How alike models trained on different corpora are (the paper's Figure 5): the cosine of
their updates and the distance between them, per decoder layer and over the whole model.

For models Θ_a, Θ_b of one backbone Θ_o, with the updates u_a = Θ_a − Θ_o, u_b = Θ_b − Θ_o:

    cosine(a, b) = Σ u_a·u_b / sqrt(Σ u_a² · Σ u_b²)      (0 when either update is zero)
    l1(a, b)     = Σ |Θ_a − Θ_b| / n                       (mean over the n entries)

summed over the tensors of a layer (`layer` = its index), or of the whole model (`all`);
tensors outside the decoder layers (embeddings, final norm, lm_head) count in `all` only.
Every model is read once, tensor by tensor in row chunks, all of them together, and every
pair is accumulated in float64: memory is a few chunks per model whatever its size.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch

from maec.io.format import DEFAULT_CHUNK_BYTES
from maec.io.reader import as_checkpoint, check_compatible
from maec.io.stream import ScratchBuffers, aligned_row_chunks, check_finite, progress
from maec.tensors import tensor_layer

ALL = "all"  # the `layer` of the whole model's row
COLUMNS = ["first", "second", "layer", "cosine", "l1", "entries"]


class _PairSums:
    """Σ u_a·u_b, Σ u_a², Σ u_b², Σ |u_a − u_b| and the entry count of one pair and scope."""

    def __init__(self):
        self.dot = self.sq_a = self.sq_b = self.l1 = 0.0
        self.entries = 0

    def add(self, a: torch.Tensor, b: torch.Tensor) -> None:
        self.dot += torch.dot(a, b).item()
        self.sq_a += torch.dot(a, a).item()
        self.sq_b += torch.dot(b, b).item()
        self.l1 += (a - b).abs_().sum().item()
        self.entries += a.numel()

    def row(self) -> dict:
        norm = math.sqrt(self.sq_a * self.sq_b)
        return dict(
            cosine=self.dot / norm if norm > 0 else 0.0,
            l1=self.l1 / self.entries if self.entries else 0.0,
            entries=self.entries,
        )


def update_similarity(
    backbone, models: Mapping[str, object], chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> pd.DataFrame:
    """One row per pair of `models` (label -> checkpoint, in order) and scope (each decoder
    layer, then `all`): COLUMNS."""
    if len(models) < 2:
        raise ValueError("update similarity needs two or more models")
    base = as_checkpoint(backbone)
    tuned = {label: as_checkpoint(m) for label, m in models.items()}
    check_compatible(base, *tuned.values(), check_dtypes=False)
    labels = list(tuned)
    pairs = list(itertools.combinations(range(len(labels)), 2))
    sums: dict[tuple, _PairSums] = {}
    scratch = ScratchBuffers()
    for name in progress(base.names, "update similarity"):
        if not base.dtype(name).is_floating_point:
            continue
        layer = tensor_layer(name)
        scopes = [ALL] if layer is None else [layer, ALL]
        sources = [base, *(tuned[label] for label in labels)]
        for _, chunks in aligned_row_chunks(sources, name, chunk_bytes, 4, scratch):
            start = chunks[0].to(torch.float64).flatten()
            updates = []
            for label, chunk in zip(labels, chunks[1:]):
                update = chunk.to(torch.float64).flatten().sub_(start)
                check_finite(update, lambda: f"{tuned[label].path}: tensor {name}")
                updates.append(update)
            for i, j in pairs:
                for scope in scopes:
                    sums.setdefault((i, j, scope), _PairSums()).add(updates[i], updates[j])
    rows = [
        dict(first=labels[i], second=labels[j], layer=scope, **total.row())
        for (i, j, scope), total in sums.items()
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    order = frame["layer"].map(lambda s: math.inf if s == ALL else s)
    return frame.assign(_order=order).sort_values(["first", "second", "_order"], kind="stable")[
        COLUMNS
    ]


def training_losses(run_dirs: Mapping[str, object]) -> pd.DataFrame:
    """The logged training loss of each run (label -> run directory, from its
    training.json): columns run, step, loss."""
    rows = []
    for label, run_dir in run_dirs.items():
        summary = json.loads((Path(run_dir) / "training.json").read_text(encoding="utf-8"))
        rows += [dict(run=label, step=e["step"], loss=e["loss"]) for e in summary["log"]]
    return pd.DataFrame(rows, columns=["run", "step", "loss"])
