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
}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}

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
            if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                raise CheckpointError(f"{file}: truncated or corrupt safetensors header")
            raw = handle.read(header_len)
    except FileNotFoundError:
        raise CheckpointError(f"{file}: safetensors file is missing") from None
    return raw, 8 + header_len


def read_header(file: str | os.PathLike) -> tuple[dict, int]:
    """The parsed JSON header of one safetensors file and the offset of its data section."""
    raw, data_start = header_bytes(file)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file}: corrupt safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file}: corrupt safetensors header")
    return header, data_start


def shard_file_name(i: int, n: int) -> str:
    """The name of shard i (from 0) of n in a sharded model directory."""
    return f"model-{i + 1:05d}-of-{n:05d}.safetensors"


def is_weight_file(name: str) -> bool:
    """Whether a file of a model directory holds weights or indexes them."""
    return name.endswith(WEIGHT_SUFFIXES) or name.endswith(".index.json")
