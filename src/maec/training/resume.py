"""Resume state: what identifies a run, and its saved state after every few steps.

A run is identified by its backbone, its mask and its arguments; a restarted job continues
from the latest state saved under ``resume_dir`` only when all three match, and a state of
another run is an error rather than a silent fresh start.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from maec.data.tokens import TokenBlocks
from maec.io.atomic import publish, remove, temporary_sibling
from maec.io.format import header_bytes
from maec.keyneurons.masks import MaskIndex

STATE_PREFIX = "state-"


def backbone_fingerprint(
    backbone: str | os.PathLike, samples: int = 16, sample_bytes: int = 4096
) -> str:
    """A cheap identity of a checkpoint directory: config, safetensors headers and
    ``samples`` evenly spaced slices of each weight file (not a full content hash)."""
    backbone = Path(backbone)
    digest = hashlib.sha256()
    digest.update((backbone / "config.json").read_bytes())
    for path in sorted(backbone.glob("*.safetensors")):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        digest.update(header_bytes(path)[0])
        with open(path, "rb") as f:
            for i in range(samples):
                f.seek(size * i // samples)
                digest.update(f.read(sample_bytes))
    return digest.hexdigest()


def mask_fingerprint(mask: Mapping[str, torch.Tensor | MaskIndex] | None) -> str | None:
    """Hash of the mask's tensor names, shapes and bits (``None`` without a mask), the same
    whether a tensor's mask is held as booleans or as positions (one tensor unpacked at a
    time)."""
    if mask is None:
        return None
    digest = hashlib.sha256()
    for name in sorted(mask):
        held = mask[name]
        if isinstance(held, MaskIndex):
            bits = np.zeros(held.numel, dtype=bool)
            bits[held.index.to("cpu", torch.int64).numpy()] = True
            shape = held.shape
        else:
            bits = held.detach().to("cpu", torch.bool).contiguous().numpy().reshape(-1)
            shape = tuple(held.shape)
        digest.update(f"{name}:{shape}".encode())
        digest.update(np.packbits(bits).tobytes())
    return digest.hexdigest()


def corpus_fingerprint(blocks: TokenBlocks) -> str:
    digest = hashlib.sha256(json.dumps(blocks.meta, sort_keys=True).encode())
    digest.update(f"{blocks.blocks.shape}:{blocks.blocks.dtype}".encode())
    return digest.hexdigest()


def latest_state(resume_dir: Path) -> Path | None:
    states = sorted(p for p in resume_dir.glob(f"{STATE_PREFIX}*") if p.is_dir())
    return states[-1] if states else None


def save_state(backend, resume_dir: Path, step: int, identity: dict) -> None:
    """Write the state after ``step`` steps to ``resume_dir/state-{step}``: every process
    writes into one temporary directory, which process 0 renames when all have finished,
    then removes older states."""
    final = resume_dir / f"{STATE_PREFIX}{step:09d}"
    tmp = temporary_sibling(final, "ranks")  # one name that every process agrees on
    if backend.rank == 0:
        remove(tmp)
        tmp.mkdir(parents=True)
    backend.barrier()
    backend.save_state(tmp)
    backend.barrier()
    if backend.rank == 0:
        (tmp / "state.json").write_text(json.dumps({"step": step, **identity}, indent=2))
        publish(tmp, final)
        for old in resume_dir.glob(f"{STATE_PREFIX}*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
    backend.barrier()


def find_state(resume_dir: Path | None, identity: dict) -> Path | None:
    """The latest saved state in ``resume_dir``, checked against this run's identity
    (backbone, mask and training arguments); a state of another run is an error."""
    if resume_dir is None or not resume_dir.is_dir():
        return None
    state = latest_state(resume_dir)
    if state is None:
        return None
    recorded = json.loads((state / "state.json").read_text())
    differing = [key for key in identity if recorded.get(key) != identity[key]]
    if differing:
        raise ValueError(
            f"resume_dir {resume_dir} holds the state of another run "
            f"(differs in: {', '.join(differing)}); remove it to start afresh "
            "or restore the original backbone, mask and arguments"
        )
    return state


def saved_step(state_dir: Path) -> int:
    """The number of steps done when the state was saved."""
    return json.loads((state_dir / "state.json").read_text())["step"]
