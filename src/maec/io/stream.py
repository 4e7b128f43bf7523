"""The streaming engine: element-wise passes over aligned checkpoints, row chunk by row chunk.

Every pass that reads checkpoints (importance, masks, deltas, R_Lang, similarity, merge)
works tensor by tensor, and a tensor larger than `chunk_bytes` in row chunks of its leading
dimension, read into reused buffers, so peak memory is a few chunks whatever the model size.
`write_elementwise` computes an output checkpoint from its inputs this way, with NaN/Inf
checks that name the input file, and writes it on a background thread.
"""

from __future__ import annotations

import functools
import math
import queue
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError, nbytes, typed_view
from maec.io.reader import Checkpoint, layout_like
from maec.io.sparse import SparseCheckpointWriter
from maec.io.writer import WRITE_DEPTH, CheckpointWriter


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
        size = max(1, nbytes(shape, dtype))
        buffer = self._buffers.get(key)
        if buffer is None or buffer.numel() < size:
            buffer = self._buffers[key] = torch.empty(size, dtype=torch.uint8)
            self._views = {k: v for k, v in self._views.items() if k[0] != key}
        view = self._views[(key, dtype, shape)] = typed_view(buffer, dtype, shape)
        return view


class FlatOffsets:
    """The flat index of each chunk's first entry, for a `write_elementwise` combine that
    needs it (a seeded draw, a top-k selector): chunks of a tensor arrive in row order."""

    def __init__(self):
        self._next: dict[str, int] = {}

    def start(self, name: str, numel: int) -> int:
        start = self._next.get(name, 0)
        self._next[name] = start + numel
        return start


class TensorSink:
    """Where `write_elementwise` can send its output instead of a file: `writer(layout)`
    returns a context manager with the `write(name, start_row, chunk, on_written)` of
    `CheckpointWriter`, called in layout order; `str()` names it in messages."""

    def writer(self, layout: Mapping[str, tuple]):
        raise NotImplementedError


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
    widest = max([min_itemsize] + [c.dtype(name).itemsize for c in present])
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
    sparse: bool = False,
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
    and arithmetic. With `sparse`, each tensor is stored as its non-zero entries where that
    is smaller (`maec.io.sparse`). `out_path` may also be a `TensorSink`, which receives
    the same chunks in the same order instead of a file (a model's parameters: merge on load).
    """
    inputs = list(inputs)
    ref_index = next(i for i, c in enumerate(inputs) if c is not None)
    ref = inputs[ref_index]
    labels = list(input_labels) if input_labels else [str(c.path) if c else "" for c in inputs]
    layout = layout_like(ref, out_dtype)
    scratch = ScratchBuffers()
    free_slots: queue.Queue[int] = queue.Queue()
    for slot in range(WRITE_DEPTH):
        free_slots.put(slot)
    if isinstance(out_path, TensorSink):
        output = out_path.writer(layout)
    else:
        out_path = Path(out_path)
        writer_class = SparseCheckpointWriter if sparse else CheckpointWriter
        output = writer_class(out_path, layout, metadata, max_shard_bytes, background=True)
    with output as writer:
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
