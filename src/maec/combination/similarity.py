"""Eq. 4: S(τ) = cos(R(A)[τ], R_Lang[τ]); T = the last k2 of the ranking (least language-like).

Ranking: descending cosine, ties broken by tensor name, rank 1 = most language-like.
|T| = floor(k2 * n_tensors + 0.5) (round half up), so k2 = 0 selects nothing (the merge is
then "R_Lang only") and k2 = 1 selects every tensor.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Collection

import torch

from maec.io.atomic import atomic_file
from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.provenance import recorded_backbone
from maec.io.reader import as_checkpoint, check_compatible
from maec.io.stream import aligned_row_chunks, check_finite, progress
from maec.tensors import check_typed, tensor_layer, tensor_type

log = logging.getLogger(__name__)

# abs sums, dot products and squared norms let the diagnostics aggregate families and types
# exactly.
COLUMNS = [
    "tensor",
    "shape",
    "type",
    "layer",
    "numel",
    "cosine",
    "rank",
    "selected",
    "abs_sum_ra",
    "abs_sum_rlang",
    "dot",
    "sq_norm_ra",
    "sq_norm_rlang",
]
FLOAT_COLUMNS = ["cosine", "abs_sum_ra", "abs_sum_rlang", "dot", "sq_norm_ra", "sq_norm_rlang"]


def check_k2(k2: float) -> float:
    if not (0 <= k2 <= 1):
        raise ValueError(f"k2 must be in [0, 1] (the fraction of tensors in T), got k2={k2}")
    return float(k2)


def selected_count(k2: float, n_tensors: int) -> int:
    """|T| = floor(k2 * n + 0.5)."""
    return int(math.floor(check_k2(k2) * n_tensors + 0.5))


class CosineAccumulator:
    """Dot product and squared norms accumulated in float64 over chunks of two tensors."""

    def __init__(self):
        self.dot = self.norm_a = self.norm_b = self.abs_a = self.abs_b = 0.0

    def add(self, a: torch.Tensor, b: torch.Tensor) -> None:
        a = a.reshape(-1).to(torch.float64)
        b = b.reshape(-1).to(torch.float64)
        self.dot += float(torch.dot(a, b))
        self.norm_a += float(torch.dot(a, a))
        self.norm_b += float(torch.dot(b, b))
        self.abs_a += float(a.abs().sum())
        self.abs_b += float(b.abs().sum())

    def cosine(self) -> float:
        if self.norm_a == 0 or self.norm_b == 0:
            return 0.0
        cosine = self.dot / (math.sqrt(self.norm_a) * math.sqrt(self.norm_b))
        return min(1.0, max(-1.0, cosine))  # rounding can step just outside [-1, 1]


def tensor_similarity(r_a: torch.Tensor, r_lang: torch.Tensor) -> float:
    """cos(flatten R(A)[τ], flatten R_Lang[τ]) with float64 accumulation; 0.0 if either is zero."""
    if r_a.shape != r_lang.shape:
        raise ValueError(f"shapes differ: {list(r_a.shape)} vs {list(r_lang.shape)}")
    acc = CosineAccumulator()
    acc.add(r_a, r_lang)
    return acc.cosine()


def similarity_rows(
    r_a_path,
    r_lang_path,
    k2: float,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    types: Collection[str] | None = None,
    within: Collection[str] | None = None,
) -> list[dict]:
    """One row per tensor with its cosine, rank and whether it is in T.

    `types` replaces the k2 selection by tensor types: T = every tensor of those types
    (see `tensor_type`), whatever its cosine. `within` keeps the k2 selection but only its
    tensors of those types (the paper's Table 8: T ∩ type)."""
    if types is not None and within is not None:
        raise ValueError("give `types` (every tensor of a type) or `within` (T ∩ type), not both")
    check_k2(k2)
    r_a, r_lang = as_checkpoint(r_a_path), as_checkpoint(r_lang_path)
    check_compatible(r_a, r_lang, check_dtypes=False)
    if (
        r_a.metadata.get("model")
        and r_lang.metadata.get("model")
        and r_a.metadata["model"] != r_lang.metadata["model"]
    ):
        raise CheckpointError(f"{r_a.path} and {r_lang.path} were made for different models")
    recorded_backbone([r_a, r_lang])  # the same backbone, where they record it
    check_typed(r_a.names, r_a.path)
    rows = []
    for name in progress(r_a.names, "S(τ)"):
        acc = CosineAccumulator()
        for _, (a, b) in aligned_row_chunks([r_a, r_lang], name, chunk_bytes):
            check_finite(a, lambda: f"{r_a.file_of(name)}: tensor {name}")
            check_finite(b, lambda: f"{r_lang.file_of(name)}: tensor {name}")
            acc.add(a, b)
        layer = tensor_layer(name)
        rows.append(
            {
                "tensor": name,
                "shape": json.dumps(list(r_a.shape(name)), separators=(",", ":")),
                "type": tensor_type(name),
                "layer": "" if layer is None else layer,
                "numel": r_a.numel(name),
                "cosine": acc.cosine(),
                "abs_sum_ra": acc.abs_a,
                "abs_sum_rlang": acc.abs_b,
                "dot": acc.dot,
                "sq_norm_ra": acc.norm_a,
                "sq_norm_rlang": acc.norm_b,
            }
        )
    rows.sort(key=lambda row: (-row["cosine"], row["tensor"]))
    n_selected = selected_count(k2, len(rows))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        if types is None:
            in_t = rank > len(rows) - n_selected
            row["selected"] = int(in_t and (within is None or row["type"] in within))
        else:
            row["selected"] = int(row["type"] in types)
    group = types if types is not None else within
    if group is not None and not any(row["selected"] for row in rows):
        where = "every tensor" if types is not None else f"the tensors of T (k2 = {k2})"
        present = sorted({row["type"] for row in rows})
        raise ValueError(
            f"{r_a.path}: the tensor types {sorted(group)} select nothing of {where}, so R(A) "
            f"would enter no tensor (this backbone's types: {', '.join(present)}; "
            "experiments.tensor_types)"
        )
    return rows


def write_similarity_table(
    r_a_path,
    r_lang_path,
    out_tsv,
    *,
    k2: float,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    types: Collection[str] | None = None,
    within: Collection[str] | None = None,
) -> None:
    """Write the S(τ) table (rank order) with the tensors of T marked selected=1."""
    rows = similarity_rows(r_a_path, r_lang_path, k2, chunk_bytes, types, within)
    write_similarity_rows(rows, out_tsv)


def write_similarity_rows(rows: list[dict], out_tsv) -> None:
    """Write `similarity_rows`' table."""
    with atomic_file(out_tsv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{column: repr(row[column]) for column in FLOAT_COLUMNS}})
    log.info(
        "similarity table: %d tensors, %d selected -> %s",
        len(rows),
        sum(r["selected"] for r in rows),
        out_tsv,
    )


def selected_tensors(rows: list[dict]) -> set[str]:
    """The tensors of T among `similarity_rows`' rows."""
    return {row["tensor"] for row in rows if row["selected"]}


def read_selected(tsv) -> set[str]:
    """The tensors of T from a similarity table."""
    with open(tsv, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"tensor", "selected"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{tsv}: not a similarity table (no column {sorted(missing)[0]})")
        return {row["tensor"] for row in reader if row["selected"].strip() in ("1", "True", "true")}
