"""Key neurons N_X: the exact top-k1 entries by importance (Eq. 1), stored as bit-packed masks.

k = floor(k1 * n_eligible + 0.5) entries are kept (round half up; `scope="tensor"` applies
the same rounding to each tensor's entry count). The threshold is found without holding
the importances: importances are non-negative floats, whose IEEE bit patterns sort like
the numbers, so a radix select over the bits finds the k-th largest value exactly in two
streamed passes (a histogram of the high 16 bits, then of the low 16 bits inside the bucket
holding the k-th entry). A third pass writes the mask: every entry above the threshold, then
entries equal to it in order (tensor name order, flat index order) until exactly k are kept.
"""

from __future__ import annotations

import json
import logging
import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maec.importance import check_learning_rate, iter_importance
from maec.io.atomic import write_text
from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.reader import as_checkpoint, check_compatible, fingerprint
from maec.io.writer import CheckpointWriter
from maec.stream import ScratchBuffers, progress

log = logging.getLogger(__name__)

_BINS = 1 << 16
_NON_FINITE_BUCKET = 0x7F80  # high 16 bits of +Inf; NaN lies above


def check_k1(k1: float) -> float:
    if not (0 < k1 <= 1):
        raise ValueError(f"k1 must be in (0, 1] (the fraction of entries kept), got k1={k1}")
    return float(k1)


def kept_count(k1: float, n_entries: int) -> int:
    """k = floor(k1 * n + 0.5): the number of key neurons among n eligible entries."""
    return int(math.floor(check_k1(k1) * n_entries + 0.5))


def eligible_names(
    names: Iterable[str], include: Sequence[str] = (".*",), exclude: Sequence[str] = ()
) -> list[str]:
    """Tensors whose name matches (re.search) an include pattern and no exclude pattern."""
    try:
        inc = [re.compile(p) for p in include]
        exc = [re.compile(p) for p in exclude]
    except re.error as err:
        raise ValueError(f"bad include/exclude pattern {err.pattern!r}: {err}") from None
    return [n for n in names if any(p.search(n) for p in inc) and not any(p.search(n) for p in exc)]


def _float_of_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<i", bits))[0]


def _top_bin(hist: torch.Tensor, k: int) -> tuple[int, int]:
    """The bin holding the k-th largest entry and how many entries lie in higher bins."""
    from_top = hist.flip(0).cumsum(0)
    position = int(torch.searchsorted(from_top, torch.tensor(k, dtype=from_top.dtype)))
    bin_index = _BINS - 1 - position
    return bin_index, int(from_top[position] - hist[bin_index])


def radix_threshold(
    chunks: Callable[[], Iterator[tuple[str, torch.Tensor]]], k: int
) -> tuple[float, int, int]:
    """The k-th largest value of the non-negative float32 entries streamed by `chunks()`.

    `chunks()` starts a fresh pass yielding (tensor name, float32 chunk). Returns
    (threshold, number of entries strictly above it, number equal to it). Two passes.
    """
    high = torch.zeros(_BINS, dtype=torch.int64)
    total = 0
    for name, chunk in chunks():
        counts = torch.bincount(chunk.reshape(-1).view(torch.int32) >> 16, minlength=_BINS)
        if counts[_NON_FINITE_BUCKET:].any():
            raise CheckpointError(f"tensor {name}: importance is NaN or Inf (non-finite weights)")
        high += counts
        total += chunk.numel()
    if not 1 <= k <= total:
        raise ValueError(f"cannot keep {k} of {total} entries")
    bucket, above_bucket = _top_bin(high, k)
    low = torch.zeros(_BINS, dtype=torch.int64)
    for _, chunk in chunks():
        bits = chunk.reshape(-1).view(torch.int32)
        in_bucket = bits[(bits >> 16) == bucket] & 0xFFFF
        low += torch.bincount(in_bucket, minlength=_BINS)
    low_bin, above_in_bucket = _top_bin(low, k - above_bucket)
    threshold = _float_of_bits((bucket << 16) | low_bin)
    return threshold, above_bucket + above_in_bucket, int(low[low_bin])


class _TieTaker:
    """Selects entries above the threshold plus the first `ties` entries equal to it."""

    def __init__(self, threshold: float, ties: int):
        self.threshold = threshold
        self.ties = ties

    def select(self, chunk: torch.Tensor) -> torch.Tensor:
        flat = chunk.reshape(-1)
        keep = flat > self.threshold
        if self.ties > 0:
            equal = flat == self.threshold
            n_equal = int(equal.sum())
            if n_equal <= self.ties:
                keep |= equal
                self.ties -= n_equal
            else:
                keep[equal.nonzero().reshape(-1)[: self.ties]] = True
                self.ties = 0
        return keep


class _BitPacker:
    """numpy.packbits(bitorder="little") of a flat stream delivered in pieces of any length."""

    def __init__(self):
        self._pending = np.zeros(0, dtype=bool)

    def feed(self, bits: np.ndarray) -> np.ndarray:
        if self._pending.size:
            bits = np.concatenate([self._pending, bits])
        whole = bits.size - bits.size % 8
        self._pending = bits[whole:].copy()
        return np.packbits(bits[:whole], bitorder="little")

    def finish(self) -> np.ndarray:
        packed = np.packbits(self._pending, bitorder="little")
        self._pending = np.zeros(0, dtype=bool)
        return packed


def _packed_layout(shapes: dict[str, list[int]]) -> dict:
    return {
        name: ((math.ceil(math.prod(shape) / 8),), torch.uint8) for name, shape in shapes.items()
    }


def summary_path(mask_path) -> Path:
    return Path(mask_path).with_suffix(".json")


def _summary(
    path: Path,
    meta: dict,
    kept: dict[str, int],
    shapes: dict[str, list[int]],
    thresholds: dict[str, float] | None = None,
) -> dict:
    total = sum(math.prod(s) for s in shapes.values())
    n_kept = sum(kept.values())
    tensors = {}
    for name, shape in shapes.items():
        numel = math.prod(shape)
        tensors[name] = {
            "numel": numel,
            "kept": kept[name],
            "density": kept[name] / numel if numel else 0.0,
        }
        if thresholds is not None:
            tensors[name]["threshold"] = thresholds.get(name)
    return {
        **meta,
        "mask": str(path),
        "total": total,
        "kept": n_kept,
        "density": n_kept / total if total else 0.0,
        "tensors": tensors,
    }


def build_key_neuron_mask(
    backbone,
    tuned,
    out_path,
    *,
    k1: float,
    lr: float,
    scope: str = "global",
    include: Sequence[str] = (".*",),
    exclude: Sequence[str] = (),
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict:
    """Write the key-neuron mask N_X of the top k1 entries by importance, and its summary JSON.

    Returns the summary (also written to `out_path` with a .json suffix).
    """
    check_k1(k1)
    check_learning_rate(lr)
    if scope not in ("global", "tensor"):
        raise ValueError(f"scope must be 'global' or 'tensor', got scope={scope!r}")
    base, moved = as_checkpoint(backbone), as_checkpoint(tuned)
    check_compatible(base, moved)
    names = eligible_names(base.names, include, exclude)
    if not names:
        raise ValueError(
            f"{base.path}: no tensor matches include={list(include)} exclude={list(exclude)}"
        )
    for name in names:
        if not base.dtype(name).is_floating_point:
            raise CheckpointError(
                f"{base.path}: tensor {name} is not floating point; exclude it from the mask"
            )
    out_path = Path(out_path)
    shapes = {name: list(base.shape(name)) for name in names}
    eligible = sum(base.numel(n) for n in names)

    scratch = ScratchBuffers()

    def stream(selected_names):
        def chunks():
            for name, _, chunk in iter_importance(
                base, moved, lr, selected_names, chunk_bytes, scratch
            ):
                yield name, chunk

        return chunks

    thresholds: dict[str, float | None] = {}
    takers: dict[str, _TieTaker] = {}
    if scope == "global":
        k = kept_count(k1, eligible)
        if k:
            threshold, above, equal = radix_threshold(stream(names), k)
            shared = _TieTaker(threshold, k - above)
            takers = dict.fromkeys(names, shared)
            log.info(
                "global threshold %r: %d above, %d of %d equal entries kept",
                threshold,
                above,
                k - above,
                equal,
            )
        threshold_meta = takers[names[0]].threshold if k else None
    else:
        k = sum(kept_count(k1, base.numel(n)) for n in names)
        threshold_meta = None
    meta = {
        "model": fingerprint(base),
        "k1": k1,
        "scope": scope,
        "threshold": threshold_meta,
        "lr": lr,
        "include": list(include),
        "exclude": list(exclude),
        "backbone": str(base.path),
        "tuned": str(moved.path),
        "k": k,
        "eligible": eligible,
    }
    header = {key: json.dumps(value) for key, value in meta.items()}
    header["shapes"] = json.dumps(shapes, separators=(",", ":"))
    kept: dict[str, int] = {}
    with CheckpointWriter(out_path, _packed_layout(shapes), header) as writer:
        for name in progress(names, "mask"):
            if scope == "tensor":
                k_tensor = kept_count(k1, base.numel(name))
                if k_tensor:
                    threshold, above, _ = radix_threshold(stream([name]), k_tensor)
                    takers[name] = _TieTaker(threshold, k_tensor - above)
                    thresholds[name] = threshold
                else:
                    thresholds[name] = None
            taker = takers.get(name)
            packer, position, kept[name] = _BitPacker(), 0, 0
            for _, _, chunk in iter_importance(base, moved, lr, [name], chunk_bytes, scratch):
                if taker is None:
                    bits = np.zeros(chunk.numel(), dtype=bool)
                else:
                    bits = taker.select(chunk).numpy()
                kept[name] += int(bits.sum())
                packed = packer.feed(bits)
                if packed.size:
                    writer.write(name, position, torch.from_numpy(packed))
                    position += packed.size
            tail = packer.finish()
            if tail.size:
                writer.write(name, position, torch.from_numpy(tail))
    if sum(kept.values()) != k:
        raise AssertionError(f"{out_path}: kept {sum(kept.values())} entries, expected {k}")
    summary = _summary(out_path, meta, kept, shapes, thresholds if scope == "tensor" else None)
    write_text(summary_path(out_path), json.dumps(summary, indent=2, sort_keys=True))
    log.info(
        "mask %s: kept %d of %d entries (density %.4g)", out_path, k, eligible, summary["density"]
    )
    return summary


def _open_mask(path, expect_model: str | None = None):
    ckpt = as_checkpoint(path)
    if "shapes" not in ckpt.metadata or "model" not in ckpt.metadata:
        raise CheckpointError(f"{ckpt.path}: not a mask file (no shapes/model in its metadata)")
    model = json.loads(ckpt.metadata["model"])
    if expect_model is not None and model != expect_model:
        raise CheckpointError(
            f"{ckpt.path}: mask was made for another model (fingerprint {model}, "
            f"expected {expect_model})"
        )
    shapes = json.loads(ckpt.metadata["shapes"])
    for name, shape in shapes.items():
        if name not in ckpt or ckpt.shape(name) != (math.ceil(math.prod(shape) / 8),):
            raise CheckpointError(
                f"{ckpt.path}: tensor {name}: packed mask does not match shape {shape}"
            )
    return ckpt, model, shapes


def read_mask(path, expect_model: str | None = None) -> dict[str, torch.Tensor]:
    """The mask as boolean tensors of the model's shapes (tensors not in it are all False)."""
    ckpt, _, shapes = _open_mask(path, expect_model)
    out = {}
    for name, shape in shapes.items():
        packed = ckpt.read(name).numpy()
        bits = np.unpackbits(packed, count=math.prod(shape), bitorder="little").astype(bool)
        out[name] = torch.from_numpy(bits).reshape(shape)
    return out


@dataclass(frozen=True)
class MaskIndex:
    """One tensor's key neurons as flat positions in ascending order: 4 bytes per kept entry
    (8 past 2**31 entries) instead of one byte per entry of the tensor."""

    shape: tuple[int, ...]
    index: torch.Tensor

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def index_dtype(numel: int) -> torch.dtype:
    """int32 addresses every entry of a tensor below 2**31 entries; int64 beyond."""
    return torch.int32 if numel < 2**31 else torch.int64


def mask_index(bits: torch.Tensor) -> MaskIndex:
    """The flat positions of the True entries of a boolean mask tensor."""
    flat = bits.reshape(-1).nonzero().reshape(-1)
    return MaskIndex(tuple(bits.shape), flat.to(index_dtype(bits.numel())))


def read_mask_indices(path, expect_model: str | None = None) -> dict[str, MaskIndex]:
    """The mask as flat positions per tensor, unpacked one tensor at a time (the whole mask
    is never held one byte per entry)."""
    ckpt, _, shapes = _open_mask(path, expect_model)
    out = {}
    for name, shape in shapes.items():
        bits = np.unpackbits(ckpt.read(name).numpy(), count=math.prod(shape), bitorder="little")
        index = torch.from_numpy(np.flatnonzero(bits)).to(index_dtype(math.prod(shape)))
        out[name] = MaskIndex(tuple(shape), index)
    return out


def _popcount(packed: np.ndarray) -> int:
    return int(np.bitwise_count(packed).sum())


def union_masks(paths, out_path) -> dict:
    """N = ∪ N_i (e.g. N_A ∪ N_L0 for the ability's masked CPT), with its summary JSON."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("union needs at least one mask")
    masks = [_open_mask(p) for p in paths]
    model = masks[0][1]
    shapes: dict[str, list[int]] = {}
    for ckpt, other_model, other_shapes in masks:
        if other_model != model:
            raise CheckpointError(f"{ckpt.path}: mask was made for another model than {paths[0]}")
        for name, shape in other_shapes.items():
            if shapes.setdefault(name, shape) != shape:
                raise CheckpointError(
                    f"{ckpt.path}: tensor {name} has shape {shape}, {shapes[name]} in another mask"
                )
    shapes = dict(sorted(shapes.items()))
    out_path = Path(out_path)
    meta = {"model": model, "scope": "union", "sources": [str(p) for p in paths]}
    header = {key: json.dumps(value) for key, value in meta.items()}
    header["shapes"] = json.dumps(shapes, separators=(",", ":"))
    kept = {}
    with CheckpointWriter(out_path, _packed_layout(shapes), header) as writer:
        for name in progress(shapes, "union"):
            n_bytes = math.ceil(math.prod(shapes[name]) / 8)
            present = [ckpt for ckpt, _, s in masks if name in s]
            kept[name] = 0
            for start in range(0, n_bytes, DEFAULT_CHUNK_BYTES):
                stop = min(n_bytes, start + DEFAULT_CHUNK_BYTES)
                parts = [ckpt.read_rows(name, start, stop).numpy() for ckpt in present]
                result = np.bitwise_or.reduce(parts)
                kept[name] += _popcount(result)
                writer.write(name, start, torch.from_numpy(np.ascontiguousarray(result)))
    summary = _summary(out_path, meta, kept, shapes)
    write_text(summary_path(out_path), json.dumps(summary, indent=2, sort_keys=True))
    return summary
