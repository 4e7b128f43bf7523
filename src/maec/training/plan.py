"""How a training run is cut into optimizer steps, and its learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

LR_SCHEDULES = ("constant", "linear", "cosine")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class StepPlan:
    """How ``total_tokens`` are cut into optimizer steps of ``batch_tokens`` tokens."""

    steps: int
    accumulation: int
    rows_per_step: int  # over all processes
    block_size: int


def plan_steps(
    total_tokens: int,
    batch_tokens: int,
    micro_batch_size: int,
    block_size: int,
    world_size: int = 1,
) -> StepPlan:
    """Steps = total_tokens // batch_tokens; gradient accumulation =
    batch_tokens / (micro_batch_size · block_size · world_size)."""
    if min(total_tokens, batch_tokens, micro_batch_size, block_size) < 1:
        raise ValueError(
            "total_tokens, batch_tokens, micro_batch_size and block_size must be "
            f"positive, got {total_tokens}, {batch_tokens}, {micro_batch_size}, "
            f"{block_size}"
        )
    micro_tokens = micro_batch_size * block_size * world_size
    if batch_tokens % micro_tokens:
        processes = f" x processes ({world_size})" if world_size > 1 else ""
        raise ValueError(
            f"batch_tokens ({batch_tokens}) is not a multiple of micro_batch_size "
            f"({micro_batch_size}) x block_size ({block_size}){processes} "
            f"= {micro_tokens}"
        )
    steps = total_tokens // batch_tokens
    if steps == 0:
        raise ValueError(
            f"total_tokens ({total_tokens}) is less than one batch (batch_tokens = {batch_tokens})"
        )
    accumulation = batch_tokens // micro_tokens
    return StepPlan(steps, accumulation, accumulation * micro_batch_size * world_size, block_size)


def lr_factor(schedule: str, warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the peak lr at each step: linear warmup, then constant, linear or
    cosine decay to zero at ``total_steps``."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor
