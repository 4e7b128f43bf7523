"""Sparse tensors in a safetensors checkpoint: a delta stored as its non-zero entries.

R(A), R(Li) and R_Lang are zero outside the entries their masked CPT runs trained, so
``deltas.format: sparse`` stores a tensor τ as three safetensors tensors:

- ``τ::indices``: flat positions of the entries whose bits are not zero (a ``-0.0`` is kept,
  so the dense tensor comes back bit for bit), ascending; int32 below 2**31 entries, else int64;
- ``τ::values``: those entries, in the delta's dtype;
- ``τ::row_offsets``: int64, one more than τ's leading dimension: the entries of row r are
  ``offsets[r]:offsets[r + 1]``, so a reader finds a chunk of rows without a search;

and τ's shape in the metadata ``sparse`` (JSON name -> shape). A tensor whose sparse form
would not be smaller than its dense form is stored dense under its own name. The metadata
``delta_format`` says ``sparse``. `maec.io.reader` presents every tensor as the dense tensor
(a chunk of rows is zeroed and the chunk's entries scattered into it), so the streaming
passes (similarity, diagnostics, merge) read a sparse delta like a dense one.

`SparseCheckpointWriter` takes chunks in layout order like `CheckpointWriter`. It cannot know
a tensor's number of entries before its last chunk, so it spills each chunk's entries to a
temporary directory beside the output, then writes the file (header first) from the spill;
memory stays at a chunk plus each tensor's row counts.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maec.io.atomic import temporary_sibling
from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError, torch_dtype
from maec.io.writer import CheckpointWriter

DELTA_FORMATS = ("dense", "sparse")
FORMAT_KEY = "delta_format"  # "format" is safetensors' own key ("pt")
SHAPES_KEY = "sparse"
PARTS = ("indices", "values", "row_offsets")
_INT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def is_sparse(delta_format: str) -> bool:
    """Whether a delta format (the config's ``deltas.format``) stores tensors sparse."""
    if delta_format not in DELTA_FORMATS:
        raise ValueError(f"delta format must be one of {DELTA_FORMATS}, got {delta_format!r}")
    return delta_format == "sparse"


def part_name(name: str, part: str) -> str:
    return f"{name}::{part}"


def index_dtype(numel: int) -> torch.dtype:
    return torch.int32 if numel < 2**31 else torch.int64


def rows_of(shape: Sequence[int]) -> tuple[int, int]:
    """(rows, entries per row) of the leading-dimension view (a 0-d tensor: one row of one)."""
    return (shape[0], math.prod(shape[1:])) if shape else (1, 1)


def sparse_nbytes(nnz: int, shape: Sequence[int], dtype: torch.dtype) -> int:
    """Bytes of a tensor's sparse form: indices, values and row offsets."""
    numel = math.prod(shape)
    return nnz * (index_dtype(numel).itemsize + dtype.itemsize) + (rows_of(shape)[0] + 1) * 8


@dataclass
class SparseEntry:
    """A tensor stored sparse: its shape and dtype, and the reader entries of its parts."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    indices: object
    values: object
    row_offsets: object

    @property
    def file(self) -> Path:
        return self.values.file


def assemble_sparse(entries: dict, metadata: Mapping[str, str], path) -> dict:
    """Replace the parts of every tensor stored sparse by one `SparseEntry`, checked."""
    if SHAPES_KEY not in metadata:
        return entries
    try:
        shapes = json.loads(metadata[SHAPES_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: metadata {SHAPES_KEY!r} is not JSON ({exc})") from None
    entries = dict(entries)
    for name, shape in shapes.items():
        parts = [entries.pop(part_name(name, part), None) for part in PARTS]
        if None in parts:
            missing = PARTS[parts.index(None)]
            raise CheckpointError(f"{path}: tensor {name} is stored sparse but has no {missing}")
        indices, values, offsets = parts
        shape = tuple(int(d) for d in shape)
        nnz = values.shape[0] if len(values.shape) == 1 else -1
        if (
            indices.shape != (nnz,)
            or indices.dtype not in (torch.int32, torch.int64)
            or offsets.shape != (rows_of(shape)[0] + 1,)
            or offsets.dtype != torch.int64
        ):
            raise CheckpointError(f"{values.file}: tensor {name}: malformed sparse parts")
        entries[name] = SparseEntry(shape, values.dtype, indices, values, offsets)
    return entries


def scatter_rows(
    out: torch.Tensor,
    start: int,
    indices: torch.Tensor,
    values: torch.Tensor,
    positions: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rows of a sparse tensor from ``start``: zeros, then each stored entry in its place,
    bit for bit. ``positions``: an int64 scratch of at least ``len(indices)`` entries."""
    flat = out.view(-1)
    flat.zero_()
    n = indices.numel()
    if n:
        cols = out[0].numel() if out.dim() else 1
        positions = torch.empty(n, dtype=torch.int64) if positions is None else positions[:n]
        positions.copy_(indices).sub_(start * cols)
        # numpy's integer-array assignment is several times faster than index_put_ here
        as_int = _INT_OF_SIZE[out.element_size()]
        flat.view(as_int).numpy()[positions.numpy()] = values.view(as_int).numpy()
    return out


class SparseCheckpointWriter:
    """Stream a delta whose tensors are stored sparse where that is smaller; the interface
    of `CheckpointWriter` (``write(name, start_row, chunk, on_written)`` in layout order)."""

    def __init__(
        self,
        path: str | os.PathLike,
        layout: Mapping[str, tuple[Sequence[int], str | torch.dtype]],
        metadata: Mapping[str, str] | None = None,
        max_shard_bytes: int | None = None,
        *,
        background: bool = False,  # accepted for CheckpointWriter's interface; spilling is quick
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ):
        self.path = Path(path)
        self._layout = {
            name: (tuple(int(d) for d in shape), torch_dtype(dtype))
            for name, (shape, dtype) in layout.items()
        }
        self._metadata = dict(metadata or {})
        self._max_shard_bytes = max_shard_bytes
        self._chunk_bytes = chunk_bytes
        self._spill_dir = temporary_sibling(self.path, f"{os.getpid()}-spill")
        self._spilled: dict[str, dict] = {}  # name -> first spilled entry, row counts

    def __enter__(self) -> SparseCheckpointWriter:
        shutil.rmtree(self._spill_dir, ignore_errors=True)
        self._spill_dir.mkdir(parents=True)
        self._positions = open(self._spill_dir / "positions", "w+b")
        self._values = open(self._spill_dir / "values", "w+b")
        self._entries = 0
        return self

    def write(
        self,
        name: str,
        start_row: int,
        chunk: torch.Tensor,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        shape, dtype = self._layout[name]
        if chunk.dtype != dtype:
            raise CheckpointError(
                f"{self.path}: tensor {name}: chunk is {chunk.dtype}, not {dtype}"
            )
        rows, cols = rows_of(shape)
        cols = max(cols, 1)  # a tensor with an empty dimension has no entries to find
        record = self._spilled.setdefault(
            name, {"first": self._entries, "counts": np.zeros(rows, dtype=np.int64)}
        )
        flat = chunk.reshape(-1)
        bits = flat.view(_INT_OF_SIZE[dtype.itemsize])
        where = (bits != 0).nonzero().reshape(-1)
        count_rows = flat.numel() // cols
        record["counts"][start_row : start_row + count_rows] = torch.bincount(
            where // cols, minlength=count_rows
        ).numpy()
        self._positions.write((where + start_row * cols).numpy().tobytes())
        self._values.write(flat[where].contiguous().view(torch.uint8).numpy().tobytes())
        self._entries += where.numel()
        if on_written is not None:
            on_written()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            self._positions.close()
            self._values.close()
            shutil.rmtree(self._spill_dir, ignore_errors=True)

    def _finish(self) -> None:
        missing = [name for name in self._layout if name not in self._spilled]
        if missing:
            raise CheckpointError(f"{self.path}: closed before tensor {missing[0]} was written")
        layout, sparse_shapes = {}, {}
        for name, (shape, dtype) in self._layout.items():
            nnz = int(self._spilled[name]["counts"].sum())
            if sparse_nbytes(nnz, shape, dtype) < math.prod(shape) * dtype.itemsize:
                sparse_shapes[name] = list(shape)
                layout[part_name(name, "indices")] = ((nnz,), index_dtype(math.prod(shape)))
                layout[part_name(name, "values")] = ((nnz,), dtype)
                layout[part_name(name, "row_offsets")] = ((rows_of(shape)[0] + 1,), torch.int64)
            else:
                layout[name] = (shape, dtype)
        metadata = {**self._metadata, FORMAT_KEY: "sparse", SHAPES_KEY: json.dumps(sparse_shapes)}
        self._positions.flush()
        self._values.flush()
        with CheckpointWriter(self.path, layout, metadata, self._max_shard_bytes) as writer:
            for name in self._layout:
                if name in sparse_shapes:
                    self._copy_sparse(writer, name)
                else:
                    self._copy_dense(writer, name)

    def _read_spill(self, name: str, first: int, last: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions (int64) and values of the tensor's spilled entries [first, last)."""
        dtype = self._layout[name][1]
        base = self._spilled[name]["first"] + first
        n = last - first
        positions = torch.empty(n, dtype=torch.int64)
        values = torch.empty(n, dtype=dtype)
        for out, handle in ((positions, self._positions), (values, self._values)):
            size = out.element_size()
            data = os.pread(handle.fileno(), n * size, base * size) if n else b""
            if len(data) != n * size:
                raise CheckpointError(f"{self.path}: temporary spill of {name} is short")
            out.view(torch.uint8).numpy()[:] = np.frombuffer(data, dtype=np.uint8)
        return positions, values

    def _copy_sparse(self, writer: CheckpointWriter, name: str) -> None:
        shape, dtype = self._layout[name]
        counts = self._spilled[name]["counts"]
        nnz = int(counts.sum())
        step = max(1, self._chunk_bytes // 8)
        for part, part_dtype in (("indices", index_dtype(math.prod(shape))), ("values", dtype)):
            for first in range(0, max(nnz, 1), step):
                positions, values = self._read_spill(name, first, min(nnz, first + step))
                chunk = positions.to(part_dtype) if part == "indices" else values
                writer.write(part_name(name, part), first, chunk)
        offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        writer.write(part_name(name, "row_offsets"), 0, offsets)

    def _copy_dense(self, writer: CheckpointWriter, name: str) -> None:
        shape, dtype = self._layout[name]
        rows, cols = rows_of(shape)
        offsets = np.concatenate([[0], np.cumsum(self._spilled[name]["counts"])])
        step = max(1, self._chunk_bytes // max(1, cols * dtype.itemsize))
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            positions, values = self._read_spill(name, int(offsets[start]), int(offsets[stop]))
            out = torch.empty((stop - start, *shape[1:]) if shape else (), dtype=dtype)
            writer.write(name, start, scatter_rows(out, start, positions, values))
