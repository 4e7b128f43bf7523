"""The safetensors format and Hugging Face model directories: names, dtypes, headers.

A safetensors file is an 8-byte little-endian header length, a JSON header (tensor name ->
dtype, shape, data offsets; `__metadata__` -> string values) and the data section. A model
directory holds `model.safetensors` or `model-0000i-of-0000n.safetensors` shards with
`model.safetensors.index.json`, beside its config and tokenizer files.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

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
    "U16": torch.uint16,
    "U32": torch.uint32,
    "U64": torch.uint64,
    "C64": torch.complex64,
    "F8_E8M0": torch.float8_e8m0fnu,
    "F8_E4M3FNUZ": torch.float8_e4m3fnuz,
    "F8_E5M2FNUZ": torch.float8_e5m2fnuz,
}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}
# Sub-byte dtypes are valid safetensors but have no torch dtype of one element per value.
SUB_BYTE_BITS = {"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}

# Files of a model directory that hold weights (replaced by new weights), as opposed to its
# config and tokenizer files (kept): every framework's weight files and their indexes.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")


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


def nbytes(shape: Sequence[int], dtype: torch.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def typed_view(buffer: torch.Tensor, dtype: torch.dtype, shape: Sequence[int]) -> torch.Tensor:
    """The first bytes of a contiguous buffer seen as a tensor of `dtype` and `shape`."""
    size = nbytes(shape, dtype)
    raw = buffer.reshape(-1).view(torch.uint8)
    if raw.numel() < size:
        raise ValueError(f"buffer of {raw.numel()} bytes is too small for {list(shape)} {dtype}")
    return raw[:size].view(dtype).view(tuple(shape))


def header_bytes(file: str | os.PathLike) -> tuple[bytes, int]:
    """The raw JSON header of one safetensors file and the offset of its data section."""
    file = Path(file)
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{file}: truncated safetensors file (no header)")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > MAX_HEADER_BYTES:
                raise CheckpointError(
                    f"{file}: corrupt safetensors header (its length field says "
                    f"{header_len} bytes, more than {MAX_HEADER_BYTES})"
                )
            if 8 + header_len > size:
                raise CheckpointError(
                    f"{file}: truncated or corrupt safetensors header (its length field says "
                    f"{header_len} bytes, the file has {size})"
                )
            raw = handle.read(header_len)
    except FileNotFoundError:
        raise CheckpointError(f"{file}: safetensors file is missing") from None
    return raw, 8 + header_len


@dataclass(frozen=True)
class HeaderEntry:
    """One tensor of a safetensors header; offsets are relative to the data section."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_header(file: str | os.PathLike) -> tuple[dict[str, HeaderEntry], dict[str, str], int]:
    """The tensors and metadata of one safetensors file and the offset of its data section,
    checked by the format's own rules, so that a file is read here exactly when the
    `safetensors` library would read it: strict JSON, string metadata, known dtypes,
    non-negative integer shapes and offsets, each tensor's bytes matching its shape, and the
    tensors covering the data section without gap, overlap or trailing bytes."""
    file = Path(file)
    raw, data_start = header_bytes(file)
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{file}: corrupt safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file}: corrupt safetensors header (not a JSON object)")
    metadata = _metadata(file, header.pop("__metadata__", None))
    entries = {name: _entry(file, name, info) for name, info in header.items()}
    _check_coverage(file, entries, file.stat().st_size - data_start)
    return entries, metadata, data_start


def _metadata(file: Path, metadata) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise CheckpointError(
            f"{file}: corrupt safetensors header (__metadata__ must map names to strings, "
            f"got {metadata!r})"
        )
    return metadata


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(file: Path, name: str, info) -> HeaderEntry:
    where = f"{file}: tensor {name}"
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise CheckpointError(
            f"{where}: malformed header entry {info!r} (needs dtype, shape and data_offsets)"
        )
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in DTYPES and dtype not in SUB_BYTE_BITS:
        raise CheckpointError(f"{where}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(map(_is_count, shape)):
        raise CheckpointError(f"{where}: shape {shape!r} is not a list of non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise CheckpointError(
            f"{where}: data_offsets {offsets!r} are not two non-negative integers"
        )
    begin, end = offsets
    bits = math.prod(shape) * (SUB_BYTE_BITS.get(dtype) or DTYPES[dtype].itemsize * 8)
    if bits % 8:
        raise CheckpointError(f"{where}: {shape} {dtype} is not a whole number of bytes")
    if end < begin or end - begin != bits // 8:
        raise CheckpointError(
            f"{where}: data_offsets {offsets} hold {end - begin} bytes, {bits // 8} expected "
            f"for shape {shape} {dtype}"
        )
    return HeaderEntry(dtype, tuple(shape), begin, end)


def _check_coverage(file: Path, entries: dict[str, HeaderEntry], data_size: int) -> None:
    """The tensors, in offset order, tile the data section exactly."""
    position = 0
    for name, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != position:
            what = "overlaps the tensor before it" if entry.begin < position else "leaves a gap"
            raise CheckpointError(
                f"{file}: tensor {name}: data_offsets [{entry.begin}, {entry.end}] {what} "
                f"(the data before it ends at {position})"
            )
        if entry.end > data_size:
            raise CheckpointError(
                f"{file}: tensor {name}: file is truncated (the data section has {data_size} "
                f"bytes, the tensor ends at {entry.end})"
            )
        position = entry.end
    if position != data_size:
        raise CheckpointError(
            f"{file}: {data_size - position} bytes at the end of the data section belong to no "
            f"tensor (the tensors cover {position} of {data_size})"
        )


def shard_file_name(i: int, n: int) -> str:
    """The name of shard i (from 0) of n in a sharded model directory."""
    return f"model-{i + 1:05d}-of-{n:05d}.safetensors"


def is_weight_file(name: str) -> bool:
    """Whether a file of a model directory holds weights or indexes them."""
    return name.endswith(WEIGHT_SUFFIXES) or name.endswith(".index.json")
