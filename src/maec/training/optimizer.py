"""AdamW for masked training: weight decay only where a gradient has been seen."""

from __future__ import annotations

import torch

# Entries per chunk when weight decay is applied (bounds temporaries on flat partitions).
DECAY_CHUNK = 1 << 24


class GradientGatedAdamW(torch.optim.AdamW):
    """AdamW whose decoupled weight decay acts only on entries that have had a non-zero
    gradient (a non-zero second moment). Entries whose gradient is always zero (outside
    the mask) keep both moments at exactly zero, hence a zero Adam update, and get no
    decay: they never change. The gate needs no mask lookup, so it works as well on the
    flattened partitions that DeepSpeed ZeRO hands to the optimizer."""

    def __init__(self, params, lr: float, weight_decay: float):
        super().__init__(params, lr=lr, weight_decay=0.0)
        self.gated_weight_decay = weight_decay

    @torch.no_grad()
    def step(self, closure=None):
        if self.gated_weight_decay:
            for group in self.param_groups:
                keep = 1.0 - group["lr"] * self.gated_weight_decay
                for p in group["params"]:
                    if p.grad is not None:
                        _decay_where_active(p, p.grad, self.state[p].get("exp_avg_sq"), keep)
        return super().step(closure)


def _decay_where_active(
    param: torch.Tensor, grad: torch.Tensor, second_moment: torch.Tensor | None, keep: float
) -> None:
    """param *= keep where grad or second_moment is non-zero, in chunks (flat ZeRO
    partitions are large). ``torch.where`` leaves the other entries' bits alone; an
    arithmetic form such as p - c·p·0 would turn -0.0 into +0.0."""
    flat_p, flat_g = param.view(-1), grad.reshape(-1)  # parameters are contiguous
    flat_v = None if second_moment is None else second_moment.reshape(-1)
    for start in range(0, flat_p.numel(), DECAY_CHUNK):
        part = slice(start, start + DECAY_CHUNK)
        active = flat_g[part] != 0
        if flat_v is not None:
            active |= flat_v[part] != 0
        flat_p[part] = torch.where(active, flat_p[part] * keep, flat_p[part])


def make_optimizer(
    parameters: list[torch.nn.Parameter], lr: float, weight_decay: float, masked: bool
) -> torch.optim.Optimizer:
    """AdamW; for masked training with weight decay gated by gradient activity."""
    if masked:
        return GradientGatedAdamW(parameters, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
