"""The exact top k of a stream of non-negative float32 values, with a seeded tie rule.

The values (importances, Eq. 1) are never held: they arrive as (tensor name, flat start,
chunk) from a pass that can be started again. Non-negative floats sort like their IEEE bit
patterns, so a radix select over the bits finds the k-th largest value exactly in two passes
(a histogram of the high 16 bits, then of the low 16 bits inside the bucket holding the k-th
entry). When only some of the entries equal to that threshold fit in k, the same radix select
runs over the tie keys of those entries (`maec.keyneurons.tie_rule`), two more passes over the
tied entries only. `TopKSelector` then marks, chunk by chunk, every entry above the threshold
and the tied entries with the largest keys: exactly k, whatever the chunking.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from maec.io.format import CheckpointError
from maec.keyneurons.tie_rule import tie_keys

_BINS = 1 << 16
_NON_FINITE_BUCKET = 0x7F80  # high 16 bits of +Inf; NaN lies above

# chunks() starts a fresh pass yielding (tensor name, flat index of the chunk's first entry,
# float32 chunk); the chunk may be a reused buffer, valid until the next one is requested.
Chunks = Callable[[], Iterator[tuple[str, int, torch.Tensor]]]


def _float_of_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<i", bits))[0]


def _top_bin(hist: torch.Tensor, k: int) -> tuple[int, int]:
    """The bin holding the k-th largest entry and how many entries lie in higher bins."""
    from_top = hist.flip(0).cumsum(0)
    position = int(torch.searchsorted(from_top, torch.tensor(k, dtype=from_top.dtype)))
    bin_index = _BINS - 1 - position
    return bin_index, int(from_top[position] - hist[bin_index])


def radix_select(
    keys: Callable[[], Iterator[tuple[str, torch.Tensor]]],
    k: int,
    check: Callable[[str, torch.Tensor], None] | None = None,
) -> tuple[int, int, int]:
    """The k-th largest of the integer keys in [0, 2^32) streamed by `keys()`.

    `keys()` starts a fresh pass yielding (tensor name, integer tensor). Returns (the k-th
    largest key, how many keys are above it, how many equal it). Two passes; `check(name,
    counts)` sees each chunk's histogram of high 16 bits in the first.
    """
    high = torch.zeros(_BINS, dtype=torch.int64)
    total = 0
    for name, chunk in keys():
        counts = torch.bincount(chunk.reshape(-1) >> 16, minlength=_BINS)
        if check is not None:
            check(name, counts)
        high += counts
        total += chunk.numel()
    if not 1 <= k <= total:
        raise ValueError(f"cannot keep {k} of {total} entries")
    bucket, above_bucket = _top_bin(high, k)
    low = torch.zeros(_BINS, dtype=torch.int64)
    for _, chunk in keys():
        flat = chunk.reshape(-1)
        low += torch.bincount(flat[(flat >> 16) == bucket] & 0xFFFF, minlength=_BINS)
    low_bin, above_in_bucket = _top_bin(low, k - above_bucket)
    return (bucket << 16) | low_bin, above_bucket + above_in_bucket, int(low[low_bin])


def _check_finite(name: str, counts: torch.Tensor) -> None:
    if counts[_NON_FINITE_BUCKET:].any():
        raise CheckpointError(f"tensor {name}: importance is NaN or Inf (non-finite weights)")


def radix_threshold(
    chunks: Callable[[], Iterator[tuple[str, torch.Tensor]]], k: int
) -> tuple[float, int, int]:
    """The k-th largest value of the non-negative float32 entries streamed by `chunks()`
    (pairs of tensor name and chunk): (threshold, entries above it, entries equal to it)."""

    def bits():
        for name, chunk in chunks():
            yield name, chunk.reshape(-1).view(torch.int32)

    threshold_bits, above, equal = radix_select(bits, k, _check_finite)
    return _float_of_bits(threshold_bits), above, equal


@dataclass(frozen=True)
class Cut:
    """Where the top k ends: every entry above `threshold`, and of the `tied` entries equal to
    it, `tied_kept`: those whose tie key is above `key_threshold`, then `key_ties` of those
    whose key equals it, in stream order (`key_threshold` None: all tied entries or none)."""

    k: int
    threshold: float
    above: int
    tied: int
    tied_kept: int
    tie_seed: int
    key_threshold: int | None = None
    key_ties: int = 0


def find_cut(chunks: Chunks, k: int, tie_seed: int) -> Cut:
    """The cut of the top k of the stream (two passes, four when the ties must be split)."""
    threshold, above, tied = radix_threshold(lambda: ((n, c) for n, _, c in chunks()), k)
    tied_kept = k - above
    if tied_kept in (0, tied):
        return Cut(k, threshold, above, tied, tied_kept, tie_seed)

    def keys():
        for name, start, chunk in chunks():
            index = (chunk.reshape(-1) == threshold).nonzero().reshape(-1)
            if index.numel():
                yield name, tie_keys(name, tie_seed, index + start)

    key_threshold, key_above, _ = radix_select(keys, tied_kept)
    return Cut(k, threshold, above, tied, tied_kept, tie_seed, key_threshold, tied_kept - key_above)


class TopKSelector:
    """Marks the entries of a cut, chunk by chunk, in the order of the stream it was found on."""

    def __init__(self, cut: Cut):
        self.cut = cut
        self._key_ties_left = cut.key_ties

    def select(self, name: str, start: int, chunk: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(the kept entries of a chunk as a flat bool tensor, how many of them are tied)."""
        cut = self.cut
        flat = chunk.reshape(-1)
        if cut.tied_kept == 0:
            return flat > cut.threshold, 0
        if cut.key_threshold is None:
            keep = flat >= cut.threshold
            return keep, int((flat == cut.threshold).sum())
        keep = flat > cut.threshold
        index = (flat == cut.threshold).nonzero().reshape(-1)
        if not index.numel():
            return keep, 0
        keys = tie_keys(name, cut.tie_seed, index + start)
        keep[index[keys > cut.key_threshold]] = True
        if self._key_ties_left:
            at_threshold = index[keys == cut.key_threshold][: self._key_ties_left]
            keep[at_threshold] = True
            self._key_ties_left -= at_threshold.numel()
        return keep, int(keep[index].sum())
