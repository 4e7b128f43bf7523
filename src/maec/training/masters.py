"""The float32 master weights of a run, saved beside its model directory for Eq. 1.

The model directory holds each tensor in the backbone's dtype; a bf16 copy rounds the small
updates of an importance CPT to few distinct values. The optimizer's float32 masters keep
them: the parameters themselves in the plain loop (the model is loaded in float32), the
master partitions of DeepSpeed's bf16 and ZeRO optimizers otherwise, gathered one tensor at
a time (`deepspeed.utils.safe_get_full_fp32_param`, every ZeRO stage). Every process takes
part in each gather; process 0 streams the tensors into a checkpoint, one at a time.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import torch

from maec.io.writer import CheckpointWriter
from maec.training.backends import DeepSpeedBackend

# Shards of the masters' checkpoint (as Hugging Face's save_pretrained cuts them).
MASTER_SHARD_BYTES = 5 << 30


def _master_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype.is_floating_point else dtype


def _fp32_parameter(backend, param: torch.Tensor) -> torch.Tensor:
    """The full float32 master of one parameter (every process calls this)."""
    if not isinstance(backend, DeepSpeedBackend):
        return param.detach().to(torch.float32)
    import deepspeed
    from deepspeed.utils import safe_get_full_fp32_param

    master = safe_get_full_fp32_param(param)
    if master is not None:
        return master
    # No optimizer master (a frozen tensor, or plain fp32 training): the parameter is it.
    with deepspeed.zero.GatheredParameters([param], enabled=hasattr(param, "ds_id")):
        return param.detach().to(torch.float32, copy=True)


def write_fp32_masters(backend, dtypes: dict[str, torch.dtype], path: Path | None) -> None:
    """Write the float32 masters of the backbone's tensors (`dtypes`: name -> stored dtype)
    to the checkpoint directory `path` (process 0; None on the other processes).

    Tensors that are not parameters (buffers) are written from the model's state dict; a
    non-floating tensor keeps its dtype. The checkpoint appears at `path` only when complete.
    """
    module = backend.module
    params = dict(module.named_parameters(remove_duplicate=False))
    buffers = {name: t for name, t in module.state_dict().items() if name not in params}
    tensors = {**buffers, **params}
    missing = sorted(set(dtypes) - set(tensors))
    if missing:
        raise KeyError(f"trained model lacks tensors of the backbone: {', '.join(missing[:5])}")
    # a ZeRO-3 parameter is a partition; ds_shape is the whole tensor's shape
    shapes = {name: tuple(getattr(t, "ds_shape", t.shape)) for name, t in tensors.items()}
    layout = {name: (shapes[name], _master_dtype(dtypes[name])) for name in sorted(dtypes)}
    metadata = {"kind": "fp32_master"}
    writer = (
        CheckpointWriter(path, layout, metadata, MASTER_SHARD_BYTES)
        if path is not None
        else nullcontext()
    )
    with writer:
        for name, (_, dtype) in layout.items():
            if name in params:
                tensor = _fp32_parameter(backend, params[name])
            else:
                tensor = buffers[name].detach().to(dtype)
            if path is not None:
                writer.write(name, 0, tensor.to("cpu", dtype).reshape(shapes[name]))
