"""Key neurons N_X: the exact top-k1 entries by importance (Eq. 1), stored as bit-packed masks.

k = floor(k1 * n_eligible + 0.5) entries are kept (round half up; `scope="tensor"` applies the
same rounding to each tensor's entry count). The cut is found without holding the importances
(`maec.keyneurons.topk`: a radix select over their bits, two streamed passes); entries tied at
the threshold are taken by a seeded hash of (tensor name, flat index)
(`maec.keyneurons.tie_rule`, two more passes over the tied entries when only some of them fit),
so the count is exact and no tensor is favoured by its name. A last pass writes the mask.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maec.io.atomic import write_text
from maec.io.format import DEFAULT_CHUNK_BYTES, CheckpointError
from maec.io.reader import Checkpoint, as_checkpoint, check_compatible, fingerprint
from maec.io.stream import ScratchBuffers, progress
from maec.io.writer import CheckpointWriter
from maec.keyneurons.importance import check_learning_rate, iter_importance
from maec.keyneurons.tie_rule import TIE_RULE
from maec.keyneurons.topk import Cut, TopKSelector, find_cut

log = logging.getLogger(__name__)


def check_k1(k1: float) -> float:
    if not (0 < k1 <= 1):
        raise ValueError(f"k1 must be in (0, 1] (the fraction of entries kept), got k1={k1}")
    return float(k1)


def kept_count(k1: float, n_entries: int) -> int:
    """k = floor(k1 * n + 0.5): the number of key neurons among n eligible entries."""
    return int(math.floor(check_k1(k1) * n_entries + 0.5))


def check_keeps_entries(k1: float, scope: str, sizes: Sequence[int], source) -> None:
    """Refuse a k1 that keeps no entry (k = 0 overall), which would leave nothing to train;
    `sizes`: the entry counts of the eligible tensors of `source`."""
    if scope == "tensor":
        k, n, where = sum(kept_count(k1, size) for size in sizes), max(sizes), "largest tensor"
    else:
        k, n, where = kept_count(k1, sum(sizes)), sum(sizes), "eligible tensors"
    if k == 0:
        raise ValueError(
            f"{source}: k1={k1} keeps no entry (k = floor(k1 · {n} + 0.5) = 0 for the {n} "
            f"entries of the {where}, scope {scope}); the smallest k1 that keeps one is "
            f"{0.5 / n:.3g}"
        )


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


def _mask_header(meta: dict, shapes: dict[str, list[int]]) -> dict[str, str]:
    """The mask file's metadata: `meta`'s entries as JSON, and the shapes its bits unpack to."""
    header = {key: json.dumps(value) for key, value in meta.items()}
    header["shapes"] = json.dumps(shapes, separators=(",", ":"))
    return header


def summary_path(mask_path) -> Path:
    return Path(mask_path).with_suffix(".json")


def _summary(
    path: Path,
    meta: dict,
    kept: dict[str, int],
    shapes: dict[str, list[int]],
    cuts: dict[str, Cut] | None = None,
    tied_kept: dict[str, int] | None = None,
) -> dict:
    """The summary JSON; with `cuts` (tensor -> the cut its entries were selected by), the tie
    counts too: `tied` and `tied_kept` overall and, per tensor, `tied_kept` (and, for
    `scope: tensor`, the tensor's own `threshold` and `tied`)."""
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
        if tied_kept is not None:
            tensors[name]["tied_kept"] = tied_kept[name]
        if meta.get("scope") == "tensor":
            cut = cuts.get(name)
            tensors[name]["threshold"] = cut.threshold if cut else None
            tensors[name]["tied"] = cut.tied if cut else 0
    summary = {
        **meta,
        "mask": str(path),
        "total": total,
        "kept": n_kept,
        "density": n_kept / total if total else 0.0,
        "tensors": tensors,
    }
    if cuts is not None:
        distinct = {id(cut): cut for cut in cuts.values()}.values()
        summary["tied"] = sum(cut.tied for cut in distinct)
        summary["tied_kept"] = sum(tied_kept.values())
    return summary


class _Importances:
    """Eq. 1's importances in row chunks, each with its flat start in its tensor; a call is
    one pass over some tensors, `over(names)` a pass that can be made again (the radix
    select makes several)."""

    def __init__(self, base: Checkpoint, moved: Checkpoint, lr: float, chunk_bytes: int):
        self.base, self.moved, self.lr, self.chunk_bytes = base, moved, lr, chunk_bytes
        self.scratch = ScratchBuffers()

    def __call__(self, names):
        for name, start_row, chunk in iter_importance(
            self.base, self.moved, self.lr, names, self.chunk_bytes, self.scratch
        ):
            yield name, start_row * math.prod(self.base.shape(name)[1:]), chunk

    def over(self, names):
        return lambda: self(names)


def _check_mask_settings(k1: float, lr: float, scope: str) -> None:
    """Refuse bad settings before either checkpoint is opened."""
    check_k1(k1)
    check_learning_rate(lr)
    if scope not in ("global", "tensor"):
        raise ValueError(f"scope must be 'global' or 'tensor', got scope={scope!r}")


def _eligible_tensors(base, moved, *, k1, scope, include, exclude) -> list[str]:
    """The tensors the mask ranks, checked before any pass over them."""
    check_compatible(base, moved, check_dtypes=False)
    names = eligible_names(base.names, include, exclude)
    if not names:
        raise ValueError(
            f"{base.path}: no tensor matches include={list(include)} exclude={list(exclude)}"
        )
    for name in names:
        for ckpt in (base, moved):
            if not ckpt.dtype(name).is_floating_point:
                raise CheckpointError(
                    f"{ckpt.path}: tensor {name} is not floating point; exclude it from the mask"
                )
    check_keeps_entries(k1, scope, [base.numel(n) for n in names], base.path)
    return names


def _global_cut(importances: _Importances, names, k: int, tie_seed: int) -> Cut:
    """The one cut of `scope: global`: the k-th largest importance over every tensor."""
    cut = find_cut(importances.over(names), k, tie_seed)
    log.info(
        "global threshold %r: %d above, %d of %d tied entries kept",
        cut.threshold,
        cut.above,
        cut.tied_kept,
        cut.tied,
    )
    return cut


def _write_tensor_mask(writer, name, importances, selector) -> tuple[int, int]:
    """One tensor's bits, packed as they come; returns (kept, tied entries kept)."""
    packer, position, kept, tied_kept = _BitPacker(), 0, 0, 0
    for _, start, chunk in importances([name]):
        if selector is None:
            bits = np.zeros(chunk.numel(), dtype=bool)
        else:
            keep, tied = selector.select(name, start, chunk)
            bits = keep.numpy()
            tied_kept += tied
        kept += int(bits.sum())
        packed = packer.feed(bits)
        if packed.size:
            writer.write(name, position, torch.from_numpy(packed))
            position += packed.size
    tail = packer.finish()
    if tail.size:
        writer.write(name, position, torch.from_numpy(tail))
    return kept, tied_kept


def _write_tensor_masks(
    writer, names, importances: _Importances, cuts: dict[str, Cut], *, k1, scope, tie_seed
) -> tuple[dict[str, int], dict[str, int]]:
    """Every tensor's bits in turn; with `scope: tensor` each tensor's cut is found just before
    and added to `cuts`. Returns (kept, tied entries kept) per tensor."""
    kept: dict[str, int] = {}
    tied_kept: dict[str, int] = {}
    selectors: dict[int, TopKSelector] = {}  # one per cut: the global cut's is shared
    for name in progress(names, "mask"):
        if scope == "tensor":
            k_tensor = kept_count(k1, importances.base.numel(name))
            if k_tensor:
                cuts[name] = find_cut(importances.over([name]), k_tensor, tie_seed)
        cut = cuts.get(name)
        selector = None if cut is None else selectors.setdefault(id(cut), TopKSelector(cut))
        kept[name], tied_kept[name] = _write_tensor_mask(writer, name, importances, selector)
    return kept, tied_kept


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
    tie_seed: int = 0,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict:
    """Write the key-neuron mask N_X of the top k1 entries by importance, and its summary JSON.

    `tuned` is the importance CPT's result in full precision (`maec.training.masters.
    float32_masters`); its dtypes may differ from the backbone's. `tie_seed` seeds the tie
    rule. Returns the summary (also written to `out_path` with a .json suffix).
    """
    _check_mask_settings(k1, lr, scope)
    base, moved = as_checkpoint(backbone), as_checkpoint(tuned)
    names = _eligible_tensors(base, moved, k1=k1, scope=scope, include=include, exclude=exclude)
    out_path = Path(out_path)
    shapes = {name: list(base.shape(name)) for name in names}
    eligible = sum(base.numel(n) for n in names)
    importances = _Importances(base, moved, lr, chunk_bytes)
    if scope == "global":  # one cut for every tensor, found first
        k = kept_count(k1, eligible)
        cut = _global_cut(importances, names, k, tie_seed)
        cuts = dict.fromkeys(names, cut)
        threshold_meta = cut.threshold
    else:  # each tensor's cut, found when its turn comes (`_write_tensor_masks`)
        k = sum(kept_count(k1, base.numel(n)) for n in names)
        cuts, threshold_meta = {}, None
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
        "tie_rule": TIE_RULE,
        "tie_seed": tie_seed,
    }
    with CheckpointWriter(out_path, _packed_layout(shapes), _mask_header(meta, shapes)) as writer:
        kept, tied_kept = _write_tensor_masks(
            writer, names, importances, cuts, k1=k1, scope=scope, tie_seed=tie_seed
        )
        if sum(kept.values()) != k:
            raise AssertionError(f"{out_path}: kept {sum(kept.values())} entries, expected {k}")
    summary = _summary(out_path, meta, kept, shapes, cuts, tied_kept)
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
    kept = {}
    with CheckpointWriter(out_path, _packed_layout(shapes), _mask_header(meta, shapes)) as writer:
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
