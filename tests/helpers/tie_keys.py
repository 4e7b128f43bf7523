"""The tie rule's keys on Python integers, the documented way (maec.keyneurons.tie_rule)."""

import hashlib

M32 = 0xFFFFFFFF


def reference_fmix32(h: int) -> int:
    """MurmurHash3's finaliser on Python integers, the textbook way."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def reference_key(name: str, seed: int, index: int) -> int:
    """The documented key, fmix32(fmix32(lo(i) ^ s0) ^ hi(i) ^ s1), on Python integers."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    s0, s1 = int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")
    return reference_fmix32(reference_fmix32((index & M32) ^ s0) ^ (index >> 32) ^ s1)
