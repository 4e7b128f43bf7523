"""The tie rule of the key-neuron selection: a seeded hash of (tensor name, flat index).

Entries whose importance equals the top-k1 threshold are tied; the selection keeps the tied
entries with the largest tie keys until exactly k are kept. The key of entry i of tensor τ is

    key(τ, i) = fmix32(fmix32(lo(i) ^ s0(τ)) ^ hi(i) ^ s1(τ)),

with lo(i), hi(i) the low and high 32 bits of the flat index, (s0, s1) the first 8 bytes of
SHA-256("{seed}:{τ}"), and fmix32 the finaliser of MurmurHash3 (a bijection of 32-bit words
with full avalanche). For fixed τ and hi(i) the key is a bijection of lo(i), so the keys of a
tensor are distinct and spread uniformly over [0, 2^32): a tensor's share of the kept ties is
its share of the tied entries, whatever its name or position. Keys of different tensors can
coincide (one pair in 2^32); the selection then takes the entries with equal keys in stream
order, which keeps the count exact.

Everything is int64 arithmetic on values below 2^49, so no product overflows and the keys are
the same on every platform and device.
"""

from __future__ import annotations

import hashlib

import torch

KEY_BITS = 32
TIE_RULE = "seeded hash of (tensor name, flat index): largest keys first"

_MASK32 = 0xFFFFFFFF


def _mul32(x: torch.Tensor, constant: int) -> torch.Tensor:
    """(x * constant) mod 2^32 for x in [0, 2^32), in two 16-bit halves of the constant."""
    low = x * (constant & 0xFFFF)
    high = ((x * (constant >> 16)) & 0xFFFF) << 16
    return (low + high) & _MASK32


def fmix32(x: torch.Tensor) -> torch.Tensor:
    """MurmurHash3's 32-bit finaliser of int64 values in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x85EBCA6B)
    x = x ^ (x >> 13)
    x = _mul32(x, 0xC2B2AE35)
    return x ^ (x >> 16)


def tensor_seed(name: str, seed: int) -> tuple[int, int]:
    """The two 32-bit words that seed the keys of tensor `name` under the tie seed `seed`."""
    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def tie_keys(name: str, seed: int, flat_index: torch.Tensor) -> torch.Tensor:
    """The tie keys (int64 in [0, 2^32)) of the entries at `flat_index` of tensor `name`."""
    s0, s1 = tensor_seed(name, seed)
    index = flat_index.to(torch.int64)
    return fmix32(fmix32((index & _MASK32) ^ s0) ^ (index >> 32) ^ s1)
