"""Which entries train: a key-neuron mask (frozen tensors and gradient hooks) or LoRA adapters."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def load_mask(mask) -> dict[str, torch.Tensor] | None:
    """``None``, a dict name -> BoolTensor, or a mask file read with
    ``maec.keyneurons.masks.read_mask``."""
    if mask is None or isinstance(mask, Mapping):
        return None if mask is None else dict(mask)
    from maec.keyneurons.masks import read_mask

    return read_mask(mask)


def parameter_shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Each parameter's full shape, also where ZeRO-3 holds only a partition of it."""
    return {
        name: tuple(getattr(param, "ds_shape", param.shape))
        for name, param in model.named_parameters()
    }


def parameter_numel(param: torch.Tensor) -> int:
    """A parameter's number of entries, also where ZeRO-3 holds only a partition of it."""
    return getattr(param, "ds_numel", param.numel())


def check_mask(
    mask: Mapping[str, torch.Tensor], shapes: Mapping[str, tuple[int, ...]], source: str
) -> None:
    """Every mask tensor names a parameter of the model, with its shape, as booleans."""
    for name, bits in mask.items():
        if name not in shapes:
            raise KeyError(f"mask {source}: tensor {name!r} is not a parameter of the backbone")
        if tuple(bits.shape) != tuple(shapes[name]):
            raise ValueError(
                f"mask {source}: tensor {name!r} has shape {tuple(bits.shape)}, "
                f"the backbone's is {tuple(shapes[name])}"
            )
        if bits.dtype != torch.bool:
            raise TypeError(f"mask {source}: tensor {name!r} is {bits.dtype}, not torch.bool")
    if not any(bool(bits.any()) for bits in mask.values()):
        raise ValueError(f"mask {source}: selects no entry, nothing to train")


def confine_to_mask(
    model: torch.nn.Module, mask: Mapping[str, torch.Tensor] | None, device: torch.device
) -> dict:
    """Make gradients vanish outside the mask: tensors with no entry in it are frozen
    (``requires_grad=False``, so no optimizer state and no update), and a gradient hook
    zeroes the frozen entries of partly masked tensors before the gradient is accumulated
    (and, under DeepSpeed, before it is reduced and partitioned). Returns entry counts."""
    parameters = dict(model.named_parameters())
    total = sum(parameter_numel(p) for p in parameters.values())
    if mask is None:
        return {
            "trainable": total,
            "total": total,
            "density": 1.0,
            "trainable_tensors": len(parameters),
        }
    kept = 0
    for name, param in parameters.items():
        bits = mask.get(name)
        n = int(bits.sum()) if bits is not None else 0
        kept += n
        param.requires_grad_(n > 0)
        if 0 < n < parameter_numel(param):
            frozen = (~bits).to(device)
            param.register_hook(lambda grad, frozen=frozen: grad.masked_fill(frozen, 0))
    trainable_tensors = sum(p.requires_grad for p in parameters.values())
    return {
        "trainable": kept,
        "total": total,
        "density": kept / total,
        "trainable_tensors": trainable_tensors,
    }


def with_lora_adapters(model: torch.nn.Module, lora: Mapping) -> torch.nn.Module:
    """Wrap the model with trainable LoRA adapters (peft); its own weights are frozen."""
    from peft import LoraConfig, get_peft_model

    unknown = set(lora) - {"r", "alpha", "dropout", "target_modules"}
    if unknown:
        raise ValueError(f"lora: unknown keys {sorted(unknown)}")
    targets = list(lora.get("target_modules", ["q_proj", "v_proj"]))
    modules = [name for name, _ in model.named_modules()]
    for target in targets:
        # peft's rule; it refuses a list that matches nothing, not one name of several
        if not any(m == target or m.endswith(f".{target}") for m in modules):
            leaves = sorted({m.rsplit(".", 1)[-1] for m in modules if m.endswith("_proj")})
            raise ValueError(
                f"lora: target module {target!r} is no module of the backbone (its "
                f"projections: {', '.join(leaves) or 'none named *_proj'})"
            )
    config = LoraConfig(
        r=int(lora.get("r", 8)),
        lora_alpha=float(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def lora_counts(model: torch.nn.Module) -> dict:
    parameters = list(model.parameters())
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    total = sum(p.numel() for p in parameters)
    return {
        "trainable": trainable,
        "total": total,
        "density": trainable / total,
        "trainable_tensors": sum(p.requires_grad for p in parameters),
    }
