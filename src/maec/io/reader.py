"""Reading safetensors checkpoints lazily, validated at open.

A checkpoint is one `.safetensors` file or a Hugging Face model directory (one file or
shards with an index). Opening parses the headers only and checks that every shard exists
and is as long as its header says, so a missing or truncated file fails at once, naming
file and tensor. Tensors are read with explicit positioned reads into caller-owned buffers
rather than memory maps, so that the resident memory of a pass over a model is a few row
chunks, whatever the model size (mapped pages count as resident).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch

from maec.io.format import (
    DEFAULT_CHUNK_BYTES,
    DTYPE_NAMES,
    DTYPES,
    INDEX_NAME,
    SINGLE_NAME,
    SUB_BYTE_BITS,
    CheckpointError,
    read_header,
    torch_dtype,
    typed_view,
)
from maec.io.sparse import SparseEntry, assemble_sparse, scatter_rows


class _TensorEntry:
    __slots__ = ("file", "dtype", "shape", "start", "end")

    def __init__(
        self, file: Path, dtype: torch.dtype, shape: tuple[int, ...], start: int, end: int
    ):
        self.file = file
        self.dtype = dtype
        self.shape = shape
        self.start = start  # absolute byte offset in the file
        self.end = end


def _parse_shard(file: Path) -> tuple[dict[str, _TensorEntry], dict[str, str]]:
    header, metadata, data_start = read_header(file)
    entries = {}
    for name, info in header.items():
        if info.dtype in SUB_BYTE_BITS:
            raise CheckpointError(
                f"{file}: tensor {name}: dtype {info.dtype} is valid safetensors but has no "
                "torch dtype of one element per value, so this workflow cannot read it"
            )
        entries[name] = _TensorEntry(
            file, DTYPES[info.dtype], info.shape, data_start + info.begin, data_start + info.end
        )
    return entries, metadata


class Checkpoint:
    """A safetensors checkpoint (one file, or a sharded Hugging Face directory), read lazily."""

    def __init__(self, path: Path, entries: dict[str, _TensorEntry], metadata: dict[str, str]):
        self.path = path
        self._entries = entries
        self.names = sorted(entries)
        self.metadata = metadata
        self._handles: dict[Path, int] = {}
        self._row_offsets: dict[str, torch.Tensor] = {}  # of tensors stored sparse, when read
        self._sparse_buffers: dict[str, torch.Tensor] = {}  # reused by every sparse chunk

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r}, {len(self.names)} tensors)"

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def _entry(self, name: str) -> _TensorEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise CheckpointError(f"{self.path}: no tensor named {name}") from None

    def file_of(self, name: str) -> Path:
        return self._entry(name).file

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entry(name).shape

    def dtype(self, name: str) -> torch.dtype:
        return self._entry(name).dtype

    def numel(self, name: str) -> int:
        return math.prod(self._entry(name).shape)

    def _fd(self, file: Path) -> int:
        fd = self._handles.get(file)
        if fd is None:
            fd = os.open(file, os.O_RDONLY)
            self._handles[file] = fd
        return fd

    def close(self) -> None:
        for fd in self._handles.values():
            os.close(fd)
        self._handles.clear()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _read_into(self, entry: _TensorEntry, offset: int, out: torch.Tensor) -> None:
        """Fill the contiguous tensor `out` with the bytes at `offset` of the tensor's data."""
        view = memoryview(out.reshape(-1).view(torch.uint8).numpy())
        fd = self._fd(entry.file)
        position = entry.start + offset
        done = 0
        while done < len(view):
            n = os.preadv(fd, [view[done:]], position + done)
            if n == 0:
                raise CheckpointError(
                    f"{entry.file}: unexpected end of file (truncated while reading)"
                )
            done += n

    def read(self, name: str) -> torch.Tensor:
        """The whole tensor (use `iter_rows` for large tensors)."""
        entry = self._entry(name)
        out = torch.empty(entry.shape, dtype=entry.dtype)
        if isinstance(entry, SparseEntry):
            return self._read_sparse(name, entry, 0, out)
        if out.numel():
            self._read_into(entry, 0, out)
        return out

    def _read_sparse(self, name: str, entry: SparseEntry, start: int, out: torch.Tensor):
        """Rows of a tensor stored sparse (`maec.io.sparse`) from ``start``, into ``out``."""
        offsets = self._row_offsets.get(name)
        if offsets is None:
            offsets = torch.empty(entry.row_offsets.shape, dtype=torch.int64)
            self._read_into(entry.row_offsets, 0, offsets)
            self._row_offsets[name] = offsets
        rows = out.shape[0] if out.dim() else 1
        first, last = int(offsets[start]), int(offsets[start + rows])
        if not 0 <= first <= last <= entry.values.shape[0]:
            raise CheckpointError(f"{entry.file}: tensor {name}: corrupt sparse row offsets")
        n = last - first
        indices = self._sparse_buffer("indices", entry.indices.dtype, n)
        values = self._sparse_buffer("values", entry.dtype, n)
        if n:
            self._read_into(entry.indices, first * indices.element_size(), indices)
            self._read_into(entry.values, first * values.element_size(), values)
        positions = self._sparse_buffer("positions", torch.int64, n)
        return scatter_rows(out, start, indices, values, positions)

    def _sparse_buffer(self, key: str, dtype: torch.dtype, n: int) -> torch.Tensor:
        """The first ``n`` entries of a reused buffer (fresh memory per chunk costs as much as
        reading it)."""
        buffer = self._sparse_buffers.get(key)
        size = n * dtype.itemsize
        if buffer is None or buffer.numel() < size:
            buffer = self._sparse_buffers[key] = torch.empty(max(size, 1), dtype=torch.uint8)
        return buffer[:size].view(dtype)

    def row_count(self, name: str) -> int:
        shape = self._entry(name).shape
        return shape[0] if shape else 1

    def rows_per_chunk(self, name: str, chunk_bytes: int, itemsize: int | None = None) -> int:
        """How many leading-dimension rows of `name` fit in `chunk_bytes` (at least one)."""
        entry = self._entry(name)
        row_numel = math.prod(entry.shape[1:]) if entry.shape else 1
        row_bytes = max(1, row_numel * (itemsize or entry.dtype.itemsize))
        return max(1, chunk_bytes // row_bytes)

    def read_rows(
        self, name: str, start: int, stop: int, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Rows [start, stop) of the leading dimension; a 0-d tensor has one row.

        `out`, when given, is a contiguous buffer of any dtype with at least the bytes needed;
        the result is a view of it.
        """
        entry = self._entry(name)
        if not entry.shape:
            return self.read(name)
        row_shape = entry.shape[1:]
        row_bytes = math.prod(row_shape) * entry.dtype.itemsize
        count = stop - start
        if out is None:
            out = torch.empty((count, *row_shape), dtype=entry.dtype)
        elif (
            out.dtype == entry.dtype and tuple(out.shape[1:]) == row_shape and out.shape[0] >= count
        ):
            out = out[:count] if out.shape[0] > count else out
        else:
            out = typed_view(out, entry.dtype, (count, *row_shape))
        if isinstance(entry, SparseEntry):
            return self._read_sparse(name, entry, start, out)
        if out.numel():
            self._read_into(entry, start * row_bytes, out)
        return out

    def iter_rows(
        self, name: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES, *, reuse_buffer: bool = False
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield (start_row, chunk) over the leading dimension in chunks of about `chunk_bytes`.

        With `reuse_buffer=True` every chunk is read into the same buffer, so a chunk is only
        valid until the next one is requested (the streaming passes use this; it keeps the
        allocator and the page-fault cost out of the inner loop).
        """
        entry = self._entry(name)
        if not entry.shape:
            yield 0, self.read(name)
            return
        rows = entry.shape[0]
        step = self.rows_per_chunk(name, chunk_bytes)
        buffer = None
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            if reuse_buffer:
                if buffer is None:
                    buffer = torch.empty((min(step, rows), *entry.shape[1:]), dtype=entry.dtype)
                yield start, self.read_rows(name, start, stop, out=buffer)
            else:
                yield start, self.read_rows(name, start, stop)


def as_checkpoint(source: str | os.PathLike | Checkpoint) -> Checkpoint:
    return source if isinstance(source, Checkpoint) else open_checkpoint(source)


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Open a checkpoint lazily: parse headers, check every shard exists and is complete."""
    path = Path(path)
    if path.is_dir():
        index = path / INDEX_NAME
        if index.exists():
            return _open_sharded(path, index)
        if (path / SINGLE_NAME).exists():
            return _open_files(path, [path / SINGLE_NAME])
        raise CheckpointError(f"{path}: neither {SINGLE_NAME} nor {INDEX_NAME} in this directory")
    if path.name == INDEX_NAME:
        return _open_sharded(path.parent, path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint is missing")
    return _open_files(path, [path])


def _open_files(
    path: Path, files: list[Path], expected: Mapping[str, str] | None = None
) -> Checkpoint:
    entries: dict[str, _TensorEntry] = {}
    metadata: dict[str, str] = {}
    for file in files:
        shard_entries, shard_meta = _parse_shard(file)
        for name, entry in shard_entries.items():
            if name in entries:
                raise CheckpointError(f"{file}: tensor {name} is also in {entries[name].file}")
            if expected is not None and expected.get(name) != file.name:
                raise CheckpointError(
                    f"{file}: tensor {name} is not listed for this shard in {path / INDEX_NAME}"
                )
            entries[name] = entry
        metadata = metadata or shard_meta
    if expected is not None:
        missing = sorted(set(expected) - set(entries))
        if missing:
            raise CheckpointError(
                f"{path / expected[missing[0]]}: tensor {missing[0]} listed in {INDEX_NAME} "
                "is not in the shard"
            )
    return Checkpoint(path, assemble_sparse(entries, metadata, path), metadata)


def _open_sharded(directory: Path, index: Path) -> Checkpoint:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{index}: not a safetensors index ({exc})") from None
    files = []
    for shard in sorted(set(weight_map.values())):
        file = directory / shard
        if not file.exists():
            tensor = next(n for n, s in sorted(weight_map.items()) if s == shard)
            raise CheckpointError(
                f"{file}: shard listed in {index} is missing (holds tensor {tensor})"
            )
        files.append(file)
    return _open_files(directory, files, expected=weight_map)


def check_compatible(reference, *others, check_dtypes: bool = True) -> None:
    """Raise unless every checkpoint has the reference's tensor names, shapes (and dtypes)."""
    ref = as_checkpoint(reference)
    for other in map(as_checkpoint, others):
        only_ref = sorted(set(ref.names) - set(other.names))
        only_other = sorted(set(other.names) - set(ref.names))
        if only_ref or only_other:
            name = (only_ref or only_other)[0]
            where = ref.path if only_ref else other.path
            raise CheckpointError(
                f"{ref.path} and {other.path} differ in tensor names: {name} is only in {where}"
            )
        for name in ref.names:
            if ref.shape(name) != other.shape(name):
                raise CheckpointError(
                    f"{ref.path} and {other.path} differ at tensor {name}: shape "
                    f"{list(ref.shape(name))} vs {list(other.shape(name))}"
                )
            if check_dtypes and ref.dtype(name) != other.dtype(name):
                raise CheckpointError(
                    f"{ref.path} and {other.path} differ at tensor {name}: dtype "
                    f"{ref.dtype(name)} vs {other.dtype(name)}"
                )


def fingerprint(checkpoint, *, include_dtypes: bool = False) -> str:
    """A hash of the tensor names and shapes (and optionally dtypes) that ties files to a model.

    Dtypes are left out by default so that float32 deltas and masks match their bf16 backbone.
    """
    ckpt = as_checkpoint(checkpoint)
    items = [
        [name, list(ckpt.shape(name))] + ([DTYPE_NAMES[ckpt.dtype(name)]] if include_dtypes else [])
        for name in ckpt.names
    ]
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()[:16]


def content_fingerprint(checkpoint, sample_bytes: int = 64) -> str:
    """A hash of the tensor names, shapes, dtypes and a few bytes of each tensor's data
    (start, middle, end): two checkpoints of one architecture with different weights (two
    backbones) differ, at the cost of three small reads per tensor."""
    ckpt = as_checkpoint(checkpoint)
    digest = hashlib.sha256()
    for name in ckpt.names:
        digest.update(f"{name}:{list(ckpt.shape(name))}:{ckpt.dtype(name)}".encode())
        rows = ckpt.row_count(name)
        for row in sorted({0, rows // 2, rows - 1}) if rows else ():
            chunk = ckpt.read_rows(name, row, row + 1) if ckpt.shape(name) else ckpt.read(name)
            digest.update(chunk.reshape(-1).view(torch.uint8)[:sample_bytes].numpy().tobytes())
    return digest.hexdigest()[:16]


def layout_like(ckpt: Checkpoint, dtype: str | torch.dtype | None = None) -> dict:
    """The (shape, dtype) layout of a checkpoint in name order, optionally with another dtype."""
    return {
        name: (ckpt.shape(name), torch_dtype(dtype) if dtype else ckpt.dtype(name))
        for name in ckpt.names
    }
