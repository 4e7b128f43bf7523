"""Lazy, validated, streamed safetensors checkpoints.

Checkpoints are read with explicit positioned reads into caller-owned buffers
rather than memory maps, so that the resident memory of a pass over a model is
a few row chunks, whatever the model size (mapped pages count as resident).
Writers know the whole layout up front, so they write the header first and
then stream the tensors chunk by chunk into a temporary name that is renamed
only when every byte is in place.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import math
import os
import queue
import shutil
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
# Row chunks of about 1 MiB keep every step of a chunk's arithmetic in the CPU caches;
# 16 MiB chunks made the merge about twice as slow (benchmarks/bench_merge.py).
DEFAULT_CHUNK_BYTES = 1 << 20
# The header of a safetensors file is small; anything larger is a corrupt file.
MAX_HEADER_BYTES = 100 << 20

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}


class CheckpointError(ValueError):
    """Bad checkpoint input: the message names the file and, when known, the tensor."""


def torch_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """A torch dtype from a torch dtype, a safetensors code ("BF16") or a name ("bfloat16")."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in DTYPES:
        return DTYPES[dtype]
    candidate = getattr(torch, str(dtype), None)
    if isinstance(candidate, torch.dtype):
        return candidate
    raise ValueError(f"unknown dtype {dtype!r}")


def _itemsize(dtype: torch.dtype) -> int:
    return dtype.itemsize


def typed_view(buffer: torch.Tensor, dtype: torch.dtype, shape: Sequence[int]) -> torch.Tensor:
    """The first bytes of a contiguous buffer seen as a tensor of `dtype` and `shape`."""
    nbytes = math.prod(shape) * _itemsize(dtype)
    raw = buffer.reshape(-1).view(torch.uint8)
    if raw.numel() < nbytes:
        raise ValueError(f"buffer of {raw.numel()} bytes is too small for {list(shape)} {dtype}")
    return raw[:nbytes].view(dtype).view(tuple(shape))


class ScratchBuffers:
    """Named byte buffers reused across chunks and tensors; a buffer only grows.

    Reuse keeps the allocator and the first-touch page faults of fresh memory out of
    the streaming loops (a new 16 MiB buffer per chunk costs about as much as reading it).
    """

    def __init__(self):
        self._buffers: dict = {}
        self._views: dict = {}  # (key, dtype, shape) -> view; the loops ask for the same few

    def take(self, key, dtype: torch.dtype, shape: Sequence[int]) -> torch.Tensor:
        shape = tuple(shape)
        view = self._views.get((key, dtype, shape))
        if view is not None:
            return view
        nbytes = max(1, math.prod(shape) * _itemsize(dtype))
        buffer = self._buffers.get(key)
        if buffer is None or buffer.numel() < nbytes:
            buffer = self._buffers[key] = torch.empty(nbytes, dtype=torch.uint8)
            self._views = {k: v for k, v in self._views.items() if k[0] != key}
        view = self._views[(key, dtype, shape)] = typed_view(buffer, dtype, shape)
        return view


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


def _read_header(file: Path) -> tuple[dict, int]:
    """The parsed JSON header of one safetensors file and the offset of its data section."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{file}: truncated safetensors file (no header)")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                raise CheckpointError(f"{file}: truncated or corrupt safetensors header")
            raw = handle.read(header_len)
    except FileNotFoundError:
        raise CheckpointError(f"{file}: safetensors file is missing") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file}: corrupt safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file}: corrupt safetensors header")
    return header, 8 + header_len


def _parse_shard(file: Path) -> tuple[dict[str, _TensorEntry], dict[str, str]]:
    header, data_start = _read_header(file)
    metadata = header.pop("__metadata__", None) or {}
    file_size = file.stat().st_size
    entries = {}
    for name, info in header.items():
        try:
            dtype = DTYPES[info["dtype"]]
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(
                f"{file}: tensor {name}: malformed header entry {info!r}"
            ) from None
        expected = math.prod(shape) * _itemsize(dtype)
        if end - begin != expected:
            raise CheckpointError(
                f"{file}: tensor {name}: {end - begin} bytes in the header, {expected} expected "
                f"for shape {list(shape)} {info['dtype']}"
            )
        if data_start + end > file_size:
            raise CheckpointError(
                f"{file}: tensor {name}: file is truncated ({file_size} bytes, the tensor ends at "
                f"{data_start + end})"
            )
        entries[name] = _TensorEntry(file, dtype, shape, data_start + begin, data_start + end)
    return entries, metadata


class Checkpoint:
    """A safetensors checkpoint (one file, or a sharded Hugging Face directory), read lazily."""

    def __init__(self, path: Path, entries: dict[str, _TensorEntry], metadata: dict[str, str]):
        self.path = path
        self._entries = entries
        self.names = sorted(entries)
        self.metadata = metadata
        self._handles: dict[Path, int] = {}

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
        if out.numel():
            self._read_into(entry, 0, out)
        return out

    def row_count(self, name: str) -> int:
        shape = self._entry(name).shape
        return shape[0] if shape else 1

    def rows_per_chunk(self, name: str, chunk_bytes: int, itemsize: int | None = None) -> int:
        """How many leading-dimension rows of `name` fit in `chunk_bytes` (at least one)."""
        entry = self._entry(name)
        row_numel = math.prod(entry.shape[1:]) if entry.shape else 1
        row_bytes = max(1, row_numel * (itemsize or _itemsize(entry.dtype)))
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
        row_bytes = math.prod(row_shape) * _itemsize(entry.dtype)
        count = stop - start
        if out is None:
            out = torch.empty((count, *row_shape), dtype=entry.dtype)
        elif (
            out.dtype == entry.dtype and tuple(out.shape[1:]) == row_shape and out.shape[0] >= count
        ):
            out = out[:count] if out.shape[0] > count else out
        else:
            out = typed_view(out, entry.dtype, (count, *row_shape))
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
    return Checkpoint(path, entries, metadata)


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


def _shard_file_name(i: int, n: int) -> str:
    return f"model-{i + 1:05d}-of-{n:05d}.safetensors"


def _temporary_sibling(path: Path) -> Path:
    return path.parent / f".{path.name}.tmp-{os.getpid()}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _replace(tmp: Path, final: Path) -> None:
    """Move a finished file or directory into place, replacing an older one."""
    if final.is_dir() and not final.is_symlink():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if tmp.is_dir() and final.exists():
            final.unlink()
        os.replace(tmp, final)


class CheckpointWriter:
    """Stream a safetensors checkpoint whose layout is known up front.

    `layout` maps tensor names to (shape, dtype) in the order the data will be written;
    `write(name, start_row, chunk)` must follow that order, rows contiguous. Without
    `max_shard_bytes` the output is one file at `path`; with it, `path` is a directory of
    `model-0000i-of-0000n.safetensors` shards and `model.safetensors.index.json`. Everything
    is written under a temporary name in the same directory and renamed on a clean close;
    on an exception the temporaries are removed and nothing is left at `path`.

    With `background=True` the bytes are written by a thread: `write` only checks the
    chunk and queues it, and calls `on_written` once the chunk's buffer may be reused.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        layout: Mapping[str, tuple[Sequence[int], str | torch.dtype]],
        metadata: Mapping[str, str] | None = None,
        max_shard_bytes: int | None = None,
        *,
        background: bool = False,
    ):
        self.path = Path(path)
        self.sharded = max_shard_bytes is not None
        self._layout = [
            (name, tuple(int(d) for d in shape), torch_dtype(dtype))
            for name, (shape, dtype) in layout.items()
        ]
        self._metadata = {"format": "pt", **{str(k): str(v) for k, v in (metadata or {}).items()}}
        self._shards = self._plan_shards(max_shard_bytes)
        self._tmp = _temporary_sibling(self.path)
        self._position = 0  # index into the layout of the tensor being written
        self._next_row = 0
        self._shard = -1
        # layout positions after which a new shard starts
        self._shard_boundaries = set(
            itertools.accumulate(len(shard) for shard in self._shards[:-1])
        )
        self._handle = None
        self._closed = False
        self._background = background
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _plan_shards(
        self, max_shard_bytes: int | None
    ) -> list[list[tuple[str, tuple[int, ...], torch.dtype]]]:
        if max_shard_bytes is None:
            return [self._layout]
        shards: list[list] = [[]]
        size = 0
        for item in self._layout:
            nbytes = math.prod(item[1]) * _itemsize(item[2])
            if shards[-1] and size + nbytes > max_shard_bytes:
                shards.append([])
                size = 0
            shards[-1].append(item)
            size += nbytes
        return shards

    def __enter__(self) -> CheckpointWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove(self._tmp)
        if self.sharded:
            self._tmp.mkdir()
        self._open_next_shard()
        if self._background:
            self._queue = queue.Queue(maxsize=_WRITE_DEPTH)
            self._thread = threading.Thread(
                target=self._drain, name=f"write {self.path.name}", daemon=True
            )
            self._thread.start()
        return self

    def _shard_path(self, i: int) -> Path:
        if not self.sharded:
            return self._tmp
        return self._tmp / _shard_file_name(i, len(self._shards))

    def _open_next_shard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._shard += 1
        header: dict = {"__metadata__": self._metadata}
        offset = 0
        for name, shape, dtype in self._shards[self._shard]:
            nbytes = math.prod(shape) * _itemsize(dtype)
            header[name] = {
                "dtype": DTYPE_NAMES[dtype],
                "shape": list(shape),
                "data_offsets": [offset, offset + nbytes],
            }
            offset += nbytes
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # keep the data section 8-byte aligned, as safetensors does
        self._handle = open(self._shard_path(self._shard), "wb")
        self._handle.write(struct.pack("<Q", len(raw)) + raw)

    def write(
        self,
        name: str,
        start_row: int,
        chunk: torch.Tensor,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        if self._error is not None:
            raise self._error
        if self._position >= len(self._layout):
            raise CheckpointError(
                f"{self.path}: tensor {name} written after the last tensor of the layout"
            )
        want_name, shape, dtype = self._layout[self._position]
        if name != want_name or start_row != self._next_row:
            raise CheckpointError(
                f"{self.path}: tensor {name} row {start_row} written, "
                f"expected {want_name} row {self._next_row}"
            )
        rows = shape[0] if shape else 1
        chunk_rows = chunk.shape[0] if (shape and chunk.dim()) else 1
        if (
            chunk.dtype != dtype
            or (shape and tuple(chunk.shape[1:]) != shape[1:])
            or start_row + chunk_rows > rows
        ):
            raise CheckpointError(
                f"{self.path}: tensor {name}: chunk {list(chunk.shape)} {chunk.dtype} does not fit "
                f"rows {start_row}.. of {list(shape)} {dtype}"
            )
        self._next_row = start_row + chunk_rows
        shard_done = False
        if self._next_row >= rows:
            self._position += 1
            self._next_row = 0
            shard_done = self._position in self._shard_boundaries
        data = chunk.contiguous().reshape(-1).view(torch.uint8).numpy() if chunk.numel() else None
        if self._queue is None:
            self._write_bytes(data, shard_done, on_written)
        else:
            self._put((data, shard_done, on_written))

    def _write_bytes(self, data, open_next: bool, on_written) -> None:
        if data is not None:
            self._handle.write(memoryview(data))
        if on_written is not None:
            on_written()
        if open_next:
            self._open_next_shard()

    def _put(self, item) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._write_bytes(*item)
                except BaseException as exc:  # reported to the producer on its next call
                    self._error = exc

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            if self._error is not None:
                raise self._error

    def _finish(self) -> None:
        self._stop_thread()
        if self._position < len(self._layout):
            name = self._layout[self._position][0]
            raise CheckpointError(f"{self.path}: closed before tensor {name} was complete")
        self._handle.close()
        self._handle = None
        if self.sharded:
            weight_map = {
                name: _shard_file_name(i, len(self._shards))
                for i, shard in enumerate(self._shards)
                for name, _, _ in shard
            }
            total = sum(math.prod(s) * _itemsize(d) for _, s, d in self._layout)
            index = {"metadata": {"total_size": total, **self._metadata}, "weight_map": weight_map}
            (self._tmp / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True))
        _replace(self._tmp, self.path)

    def abort(self) -> None:
        try:
            self._stop_thread()
        except BaseException:
            pass
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        _remove(self._tmp)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._closed:
            return
        self._closed = True
        if exc_type is not None:
            self.abort()
            return
        try:
            self._finish()
        except BaseException:
            self.abort()
            raise


def check_finite(tensor: torch.Tensor, what: Callable[[], str]) -> None:
    """Raise naming `what()` if the tensor holds NaN or Inf.

    A sum is a fast vectorised first test (NaN and Inf propagate through it); only when
    it is not finite is the exact element-wise test run, so a huge but finite tensor whose
    sum overflows is not rejected.
    """
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return
    if math.isfinite(float(tensor.sum())):
        return
    bad = ~torch.isfinite(tensor)
    if bad.any():
        first = int(bad.reshape(-1).nonzero()[0])
        raise CheckpointError(f"{what()}: NaN or Inf (first at flat index {first} of this chunk)")


def progress(iterable, desc: str, total: int | None = None):
    """A tqdm bar over tensors, shown only on an interactive terminal."""
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit="tensor",
        disable=not sys.stderr.isatty(),
        leave=False,
    )


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# Files in a model directory that are weights (replaced) rather than config/tokenizer (copied).
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")


def write_hf_directory(weights_file, model_dir, out_dir) -> None:
    """A from_pretrained-loadable directory: the model's config and tokenizer files, new weights.

    `weights_file` is one safetensors file (linked as model.safetensors) or a sharded
    directory (its shards and index are linked). Hard links cost no space; a copy is
    made where linking fails (another file system).
    """
    weights = Path(weights_file)
    model_dir = Path(model_dir)
    out_dir = Path(out_dir)
    open_checkpoint(weights)  # validate before writing anything
    if not (model_dir / "config.json").exists():
        raise CheckpointError(f"{model_dir}: no config.json in the model directory")
    tmp = _temporary_sibling(out_dir)
    _remove(tmp)
    tmp.mkdir(parents=True)
    try:
        for item in sorted(model_dir.iterdir()):
            if (
                item.is_file()
                and item.name != INDEX_NAME
                and not item.name.endswith(_WEIGHT_SUFFIXES)
            ):
                shutil.copy2(item, tmp / item.name)
        if weights.is_dir():
            for item in sorted(weights.iterdir()):
                if item.name.endswith(".safetensors") or item.name == INDEX_NAME:
                    link_or_copy(item, tmp / item.name)
        else:
            link_or_copy(weights, tmp / SINGLE_NAME)
        _replace(tmp, out_dir)
    except BaseException:
        _remove(tmp)
        raise


def aligned_row_chunks(
    checkpoints: Sequence[Checkpoint | None],
    name: str,
    chunk_bytes: int,
    min_itemsize: int = 1,
    scratch: ScratchBuffers | None = None,
) -> Iterator[tuple[int, list[torch.Tensor | None]]]:
    """Yield (start_row, [chunk of each checkpoint]) over the same rows of `name`.

    The checkpoints share the tensor's shape (dtypes may differ: a bf16 backbone and a
    float32 delta); the row count per chunk is set by the widest dtype (or `min_itemsize`,
    for a float32 accumulator beside bf16 inputs). None entries stay None. Buffers are
    reused (across tensors too, when `scratch` is given): a chunk is valid until the next
    iteration.
    """
    present = [c for c in checkpoints if c is not None]
    ref = present[0]
    if not ref.shape(name):
        yield 0, [c.read(name) if c is not None else None for c in checkpoints]
        return
    widest = max([min_itemsize] + [_itemsize(c.dtype(name)) for c in present])
    step = ref.rows_per_chunk(name, chunk_bytes, itemsize=widest)
    rows = ref.row_count(name)
    scratch = scratch or ScratchBuffers()
    row_shape = ref.shape(name)[1:]
    buffers = [
        scratch.take(("input", i), c.dtype(name), (min(step, rows), *row_shape))
        if c is not None
        else None
        for i, c in enumerate(checkpoints)
    ]
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        yield (
            start,
            [
                c.read_rows(name, start, stop, out=b) if c is not None else None
                for c, b in zip(checkpoints, buffers)
            ],
        )


def layout_like(ckpt: Checkpoint, dtype: str | torch.dtype | None = None) -> dict:
    """The (shape, dtype) layout of a checkpoint in name order, optionally with another dtype."""
    return {
        name: (ckpt.shape(name), torch_dtype(dtype) if dtype else ckpt.dtype(name))
        for name in ckpt.names
    }


# Output chunks in flight at once: one being written, one queued, one being computed.
_WRITE_DEPTH = 3


def write_elementwise(
    inputs: Sequence[Checkpoint | None],
    out_path,
    combine: Callable[[list[torch.Tensor | None], torch.Tensor, str], None],
    *,
    out_dtype: str | torch.dtype | None,
    metadata: Mapping[str, str] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_shard_bytes: int | None = None,
    input_labels: Sequence[str] | None = None,
    desc: str = "tensors",
) -> None:
    """Stream out[τ] = combine(inputs[τ]) for every tensor τ, chunk by chunk.

    `combine(chunks, acc, name)` receives the row chunks of the inputs as float32 (None for
    a missing input; they are scratch and may be overwritten) and a float32 buffer `acc` of
    the same shape to fill in place. Inputs are converted to float32 up front into reused
    buffers: mixed-dtype arithmetic in torch takes a much slower path than a conversion
    followed by float32 arithmetic. The result is checked for NaN/Inf before it is cast to
    `out_dtype` (None: the first input's dtype of each tensor) and written; when it is not
    finite the inputs of that chunk are checked first, so the message names the input file
    that caused it. Writing runs on a background thread, overlapping the next chunk's reads
    and arithmetic.
    """
    inputs = list(inputs)
    ref_index = next(i for i, c in enumerate(inputs) if c is not None)
    ref = inputs[ref_index]
    labels = list(input_labels) if input_labels else [str(c.path) if c else "" for c in inputs]
    out_path = Path(out_path)
    layout = layout_like(ref, out_dtype)
    scratch = ScratchBuffers()
    free_slots: queue.Queue[int] = queue.Queue()
    for slot in range(_WRITE_DEPTH):
        free_slots.put(slot)
    with CheckpointWriter(out_path, layout, metadata, max_shard_bytes, background=True) as writer:
        for name in progress(ref.names, desc):
            dtype = layout[name][1]
            for start, chunks in aligned_row_chunks(
                inputs, name, chunk_bytes, min_itemsize=4, scratch=scratch
            ):
                shape = chunks[ref_index].shape
                floats = [
                    scratch.take(("float", i), torch.float32, shape).copy_(c)
                    if c is not None and c.dtype != torch.float32
                    else c
                    for i, c in enumerate(chunks)
                ]
                slot = free_slots.get()
                acc = scratch.take(("acc", slot), torch.float32, shape)
                combine(floats, acc, name)
                if not math.isfinite(float(acc.sum())):
                    for chunk, ckpt, label in zip(chunks, inputs, labels):
                        if chunk is not None:
                            check_finite(
                                chunk, lambda: f"{ckpt.file_of(name)}: tensor {name} ({label})"
                            )
                    check_finite(acc, lambda: f"{out_path}: tensor {name} (result)")
                if dtype == torch.float32:
                    out = acc
                else:
                    out = scratch.take(("out", slot), dtype, shape).copy_(acc)
                    if dtype in (torch.float16, torch.float8_e4m3fn, torch.float8_e5m2):
                        check_finite(
                            out, lambda: f"{out_path}: tensor {name} (result overflows {dtype})"
                        )
                writer.write(name, start, out, on_written=functools.partial(free_slots.put, slot))
