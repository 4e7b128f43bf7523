"""Writing a safetensors checkpoint whose layout is known up front, streamed.

The writer knows every tensor's name, shape and dtype before the first byte, so it writes
the header first and then streams the tensors chunk by chunk, in layout order, into a
temporary name beside the output (`maec.io.atomic`), renamed only when every byte is in
place. A background thread can do the writing, overlapping the producer's next chunk.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch

from maec.io.atomic import naming_output, publish, remove, temporary_sibling
from maec.io.format import (
    DTYPE_NAMES,
    INDEX_NAME,
    CheckpointError,
    nbytes,
    shard_file_name,
    torch_dtype,
)

# Chunks in flight at once: one being written, one queued, one being computed.
WRITE_DEPTH = 3


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
        self._tmp = temporary_sibling(self.path)
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
            item_bytes = nbytes(item[1], item[2])
            if shards[-1] and size + item_bytes > max_shard_bytes:
                shards.append([])
                size = 0
            shards[-1].append(item)
            size += item_bytes
        return shards

    def __enter__(self) -> CheckpointWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove(self._tmp)
        if self.sharded:
            self._tmp.mkdir()
        self._open_next_shard()
        if self._background:
            self._queue = queue.Queue(maxsize=WRITE_DEPTH)
            self._thread = threading.Thread(
                target=self._drain, name=f"write {self.path.name}", daemon=True
            )
            self._thread.start()
        return self

    def _shard_path(self, i: int) -> Path:
        if not self.sharded:
            return self._tmp
        return self._tmp / shard_file_name(i, len(self._shards))

    def _open_next_shard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._shard += 1
        header: dict = {"__metadata__": self._metadata}
        offset = 0
        for name, shape, dtype in self._shards[self._shard]:
            size = nbytes(shape, dtype)
            header[name] = {
                "dtype": DTYPE_NAMES[dtype],
                "shape": list(shape),
                "data_offsets": [offset, offset + size],
            }
            offset += size
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # keep the data section 8-byte aligned, as safetensors does
        self._handle = open(self._shard_path(self._shard), "xb")
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
        with naming_output(self.path):
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
        with naming_output(self.path):  # the last buffered bytes reach the disk here
            self._handle.close()
        self._handle = None
        if self.sharded:
            weight_map = {
                name: shard_file_name(i, len(self._shards))
                for i, shard in enumerate(self._shards)
                for name, _, _ in shard
            }
            total = sum(nbytes(s, d) for _, s, d in self._layout)
            index = {"metadata": {"total_size": total, **self._metadata}, "weight_map": weight_map}
            (self._tmp / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True))
        publish(self._tmp, self.path)

    def abort(self) -> None:
        try:
            self._stop_thread()
        except BaseException:
            pass
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        remove(self._tmp)

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
