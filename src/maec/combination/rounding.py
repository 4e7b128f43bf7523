"""How much of γR(A) survives when the merged model (Eq. 5) is rounded to its output dtype.

The merge is computed in float32 and written in the backbone's dtype (or `merge.dtype`).
A bf16 weight has 8 significant bits, so an ability update γR(A)_j smaller than half an ulp of
the weight it is added to can vanish in the written model. For the entries j of the tensors in
T with R(A)_j ≠ 0, with m = τ_o + γR(A) + ηR_Lang (the merge), m0 = τ_o + ηR_Lang (the same
merge without R(A)), both float32, and q the rounding to the output dtype:

- **rounded away**: q(m_j) = q(m0_j), the written value is the one the merge without R(A)
  writes; the report gives their share of the entries;
- **surviving share** of ‖γR(A)‖₁: Σ_j s_j / Σ_j |γR(A)_j|, with
  s_j = min(max(sign(γR(A)_j) · (q(m_j) − q(m0_j)), 0), |γR(A)_j|), the change R(A) makes to
  the written value, in its own direction, counted up to its own size. The cap keeps the
  share in [0, 1]: rounding an update of 0.6 ulp up to a whole ulp writes more than γR(A)
  asked for, and that excess is rounding error, not signal making up for entries lost
  elsewhere. With float32 output the share is 1 up to float32 rounding.

The tally is per tensor, so the diagnostics can sum it by family and tensor type.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from maec.io.atomic import write_text
from maec.io.stream import ScratchBuffers


@dataclass
class RoundingTally:
    """Sums over the entries with R(A) ≠ 0 of one tensor (or more, added together)."""

    entries: int = 0
    rounded_away: int = 0
    update_l1: float = 0.0  # Σ|γR(A)|
    surviving_l1: float = 0.0  # Σ s_j

    def __iadd__(self, other: RoundingTally) -> RoundingTally:
        self.entries += other.entries
        self.rounded_away += other.rounded_away
        self.update_l1 += other.update_l1
        self.surviving_l1 += other.surviving_l1
        return self

    @property
    def rounded_away_share(self) -> float:
        return self.rounded_away / self.entries if self.entries else 0.0

    @property
    def surviving_share(self) -> float:
        return self.surviving_l1 / self.update_l1 if self.update_l1 else 1.0


def rounding_tally(
    merged: torch.Tensor,
    without_ra: torch.Tensor,
    gamma_ra: torch.Tensor,
    dtype: torch.dtype,
    scratch: ScratchBuffers | None = None,
) -> RoundingTally:
    """The tally of one chunk: `merged` = m, `without_ra` = m0, `gamma_ra` = γR(A), all
    float32 of one shape, and the output dtype. `without_ra` is overwritten."""
    scratch = scratch or ScratchBuffers()
    shape = merged.shape
    changed = without_ra
    if dtype != torch.float32:
        q_merged = scratch.take("q_merged", dtype, shape).copy_(merged)
        q_without = scratch.take("q_without", dtype, shape).copy_(without_ra)
        changed = scratch.take("changed", torch.float32, shape).copy_(q_merged)
        changed.sub_(scratch.take("q_without_float", torch.float32, shape).copy_(q_without))
    else:
        changed.sub_(merged).neg_()
    nonzero = gamma_ra != 0
    entries = int(nonzero.sum())
    if not entries:
        return RoundingTally()
    rounded_away = int((nonzero & (changed == 0)).sum())
    size = gamma_ra.abs()
    changed.mul_(gamma_ra.sign()).clamp_(min=0)
    torch.minimum(changed, size, out=changed)
    return RoundingTally(
        entries,
        rounded_away,
        float(size.sum(dtype=torch.float64)),
        float(changed.sum(dtype=torch.float64)),
    )


def write_rounding_report(
    path, tallies: dict[str, RoundingTally], *, dtype: torch.dtype, gamma: float
) -> dict:
    """The per-tensor tallies (tensors of T) and their totals as JSON; returns the report."""
    total = RoundingTally()
    for tally in tallies.values():
        total += tally
    report = {
        "dtype": str(dtype).removeprefix("torch."),
        "gamma": gamma,
        "entries": total.entries,
        "rounded_away": total.rounded_away,
        "rounded_away_share": total.rounded_away_share,
        "update_l1": total.update_l1,
        "surviving_l1": total.surviving_l1,
        "surviving_share": total.surviving_share,
        "tensors": {name: asdict(t) for name, t in sorted(tallies.items())},
    }
    write_text(path, json.dumps(report, indent=2) + "\n")
    return report


def read_rounding_report(path) -> dict:
    report = json.loads(Path(path).read_text())
    if "tensors" not in report or "dtype" not in report:
        raise ValueError(f"{path}: not a rounding report (no dtype/tensors)")
    return report
