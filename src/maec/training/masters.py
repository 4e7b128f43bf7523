"""The float32 master weights of a run, saved beside its model directory for Eq. 1.

The model directory holds each tensor in the backbone's dtype; a bf16 copy rounds the small
updates of an importance CPT to few distinct values. The optimizer's float32 masters keep
them: the parameters themselves in the plain loop (the model is loaded in float32), the
masked entries' master values of the sparse optimizer state (a bf16 weight holds them
rounded), the master partitions of DeepSpeed's bf16 and ZeRO optimizers otherwise,
gathered one tensor at a time (`deepspeed.utils.safe_get_full_fp32_param`, every ZeRO
stage). Every process takes
part in each gather; process 0 streams the tensors into a checkpoint, one at a time.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import torch

from maec.io.format import CheckpointError
from maec.io.reader import open_checkpoint
from maec.io.writer import CheckpointWriter
from maec.training.backends import DeepSpeedBackend
from maec.training.sparse import SparseBackend

FP32_MASTER_DIR = "fp32_master"


def float32_masters(run_dir: str | os.PathLike) -> Path:
    """The float32 masters of a run directory (Θ̃ of an importance CPT for Eq. 1, a masked
    run for Eq. 2 with `deltas.precision: float32`): its `fp32_master/` checkpoint, checked
    to hold float32 tensors. A run saved without it is an error, not a fallback to the
    rounded weights."""
    masters = Path(run_dir) / FP32_MASTER_DIR
    if not masters.is_dir():
        raise CheckpointError(
            f"{run_dir}: no {FP32_MASTER_DIR}/ (the run's float32 master weights); "
            "train it with fp32_masters=True"
        )
    ckpt = open_checkpoint(masters)
    for name in ckpt.names:
        if ckpt.dtype(name).is_floating_point and ckpt.dtype(name) != torch.float32:
            raise CheckpointError(f"{masters}: tensor {name} is {ckpt.dtype(name)}, not float32")
    return masters


def run_weights(run_dir, precision: str):
    """What Eq. 2 reads of a run (`deltas.precision`): its checkpoint, or its masters."""
    return float32_masters(run_dir) if precision == "float32" else run_dir


# Shards of the masters' checkpoint (as Hugging Face's save_pretrained cuts them).
MASTER_SHARD_BYTES = 5 << 30


def _master_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype.is_floating_point else dtype


def _fp32_parameter(backend, param: torch.Tensor, masked=None) -> torch.Tensor:
    """The full float32 master of one parameter (every process calls this); `masked`: its
    entries of the sparse optimizer state, whose float32 masters a bf16 weight only rounds."""
    if masked is not None and not masked.masters_in_weight:
        master = param.detach().to(torch.float32, copy=True)
        master.view(-1).index_put_((masked.index,), masked.values)
        return master
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
    masked = (
        {t.name: t for t in backend.state.tensors} if isinstance(backend, SparseBackend) else {}
    )
    writer = (
        CheckpointWriter(path, layout, metadata, MASTER_SHARD_BYTES)
        if path is not None
        else nullcontext()
    )
    with writer:
        for name, (_, dtype) in layout.items():
            if name in params:
                tensor = _fp32_parameter(backend, params[name], masked.get(name))
            else:
                tensor = buffers[name].detach().to(dtype)
            if path is not None:
                writer.write(name, 0, tensor.to("cpu", dtype).reshape(shapes[name]))
