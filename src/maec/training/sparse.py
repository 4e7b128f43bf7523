"""Masked CPT that pays only for the key neurons (``optimizer_state="sparse"``).

For each tensor with key neurons the training state is their flat positions (int32), their
float32 master values and AdamW moments for those entries only; the model's weights stay in
the training dtype (bf16 when a bf16 backbone trains in bf16). A float32 weight holds its
masked entries' master values itself (the values written back are the weight's entries, bit
for bit): they are gathered for the optimizer step and released after it, so that they take
no memory while the backward pass needs it most. A post-accumulate-grad hook
reduces a tensor's dense gradient to its masked entries as soon as autograd has accumulated
it, and frees it, so only a few dense gradients exist at once. After each optimizer step the
updated values are written back into the weights; entries outside the mask are never
written.

The arithmetic is the dense masked path's, entry for entry, so that float32 results are
bit-identical to it:
- micro-batches: the first one's gradient is copied, later ones are added, as autograd
  accumulates a dense gradient;
- the optimizer is `GradientGatedAdamW` itself, stepping the packed values: its kernels are
  element-wise, and torch picks the same implementation (single-tensor on the CPU, foreach
  on a GPU) for the packed values as for the dense tensors;
- clipping: a float32 sum depends on the order of its terms, so each tensor's norm is taken
  over its gradient laid out as in the dense path (zeros outside the mask), in the storage
  of the dense gradient that is about to be freed; then the total norm and the clipping
  coefficient as `torch.nn.utils.clip_grad_norm_` forms them.
With several processes (torchrun), each tensor's masked gradient is averaged over them
(all-reduce) in the hook of the step's last micro-batch, while the backward pass goes on.

Tied input/output embeddings (Qwen2.5, Gemma) are one tensor used twice: autograd would hold
the output projection's dense gradient from the start of the backward pass to its end, where
the input embedding's arrives, and then a third for their sum. The output projection's use
goes through a tap that reduces its gradient to the masked entries at once instead; the hook
adds the input embedding's, one float32 addition per entry as in autograd's sum.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from maec.keyneurons.masks import MaskIndex, mask_index, read_mask_indices
from maec.training.backends import PlainBackend
from maec.training.optimizer import GradientGatedAdamW

OPTIMIZER_STATES = ("dense", "sparse")


def load_mask_indices(mask) -> dict[str, MaskIndex] | None:
    """``None``, a dict name -> BoolTensor, or a mask file, as flat positions per tensor."""
    if mask is None:
        return None
    if isinstance(mask, Mapping):
        return {name: mask_index(bits) for name, bits in mask.items()}
    return read_mask_indices(mask)


def check_mask_indices(
    indices: Mapping[str, MaskIndex], shapes: Mapping[str, tuple[int, ...]], source: str
) -> None:
    """Every tensor names a parameter of the model, with its shape; its positions (ascending)
    lie inside it."""
    for name, key in indices.items():
        if name not in shapes:
            raise KeyError(f"mask {source}: tensor {name!r} is not a parameter of the backbone")
        if key.shape != tuple(shapes[name]):
            raise ValueError(
                f"mask {source}: tensor {name!r} has shape {key.shape}, "
                f"the backbone's is {tuple(shapes[name])}"
            )
        if key.index.numel() and not 0 <= int(key.index[0]) <= int(key.index[-1]) < key.numel:
            raise ValueError(f"mask {source}: tensor {name!r} has positions outside its shape")
    if not any(key.index.numel() for key in indices.values()):
        raise ValueError(f"mask {source}: selects no entry, nothing to train")


def weights_dtype(precision: str, stored: Mapping[str, torch.dtype]) -> torch.dtype:
    """The dtype the backbone is loaded in: bf16 when a bf16 backbone trains in bf16, else
    float32 (rounding a float32 backbone to bf16 would move the entries outside the mask)."""
    if precision == "bf16" and set(stored.values()) == {torch.bfloat16}:
        return torch.bfloat16
    return torch.float32


def widen_outside_linear_layers(model: torch.nn.Module) -> None:
    """Float32 for every parameter that is not a weight or bias of linear layers only
    (embeddings, norms; a tied embedding is both). bf16 autocast computes linear layers in
    bf16 from bf16-rounded weights, so bf16 weights there give the dense path's forward pass
    (float32 weights under autocast); the others enter the computation as they are, so they
    keep the float32 master values, as in the dense path."""
    linear_only = {
        id(p)
        for m in model.modules()
        if isinstance(m, torch.nn.Linear)
        for p in m.parameters(recurse=False)
    }
    for module in model.modules():
        if not isinstance(module, torch.nn.Linear):
            linear_only -= {id(p) for p in module.parameters(recurse=False)}
    with torch.no_grad():
        for param in model.parameters():
            if id(param) not in linear_only:
                param.data = param.data.float()


def join_processes(device: torch.device) -> tuple[int, int, torch.device]:
    """This process's rank, the number of processes of a torchrun launch (``WORLD_SIZE``)
    and its device, after joining their process group (NCCL on GPUs, gloo on the CPU);
    ``(0, 1, device)`` for a process on its own."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return torch.distributed.get_rank(), world_size, device


def masked_norm(dense_grad: torch.Tensor, index: torch.Tensor, masked: torch.Tensor, spare):
    """The 2-norm of a tensor's masked gradient ``masked`` (float32), as the dense path
    computes it: a float32 sum depends on the order of its terms, so the values are laid out
    as in the dense path's gradient (zeros outside the mask) and summed in its order. The
    layout lives in the dense gradient's own storage, which is about to be freed, or, for a
    bf16 gradient (a bf16 weight), in ``spare(numel)``, a reused float32 buffer."""
    if dense_grad.dtype == masked.dtype:
        flat = dense_grad.view(-1)
    else:
        flat = spare(dense_grad.numel())
    flat.zero_()
    flat.index_put_((index,), masked)
    return torch._foreach_norm([flat], 2.0)[0]


@torch.no_grad()
def write_back(param: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> None:
    """Put the master values of the masked entries into the weights (rounded to their dtype,
    as the dense path rounds its float32 weights when it saves them)."""
    param.detach().view(-1).index_put_((index,), values.to(param.dtype))


@dataclass(eq=False)
class MaskedTensor:
    """One tensor's masked entries: positions, master values, the step's gradient."""

    name: str
    param: torch.nn.Parameter
    index: torch.Tensor  # flat positions, on the parameter's device
    values: torch.Tensor  # float32 master values: the optimizer's parameter
    grad: torch.Tensor  # float32, accumulated over the step's micro-batches
    micro_batches: int = 0  # gradients accumulated in this step
    norm: torch.Tensor | None = None  # of the step's whole gradient, once it is complete
    tapped: torch.Tensor | None = None  # this micro-batch's masked gradient from a tapped use

    @property
    def masters_in_weight(self) -> bool:
        """A float32 weight is its masked entries' master copy (see the module docstring)."""
        return self.param.dtype == torch.float32

    def gather_masters(self) -> None:
        """`values` from the weight, into the storage that `release_masters` let go."""
        self.values.untyped_storage().resize_(self.values.numel() * self.values.element_size())
        torch.index_select(self.param.detach().reshape(-1), 0, self.index, out=self.values)

    def release_masters(self) -> None:
        self.values.untyped_storage().resize_(0)


class GradientTap(torch.autograd.Function):
    """The identity on a weight; in the backward pass, the gradient from this use of the
    weight goes to ``take`` and no further, so autograd never holds it."""

    @staticmethod
    def forward(ctx, weight, take):
        ctx.take = take
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad):
        ctx.take(grad)
        return None, None


class SparseMaskedState:
    """The trainable state of masked CPT for the masked entries only, kept up to date by
    gradient hooks; `step` clips, steps AdamW and writes the values back into the weights.

    Before each micro-batch's backward pass the caller sets `last_micro_batch`; the hooks of
    the last one complete the step's gradient (average over processes, norm)."""

    def __init__(
        self,
        model: torch.nn.Module,
        indices: Mapping[str, MaskIndex],
        *,
        lr: float,
        weight_decay: float,
        world_size: int = 1,
    ):
        self.world_size = world_size
        self.last_micro_batch = True
        self._spare = torch.empty(0)  # float32 layout of bf16 gradients, see masked_norm
        self.tensors: list[MaskedTensor] = []
        for name, param in model.named_parameters():  # the dense path's order of tensors
            key = indices.get(name)
            trains = key is not None and key.index.numel() > 0
            param.requires_grad_(trains)
            if not trains:
                continue
            index = key.index.to(param.device)
            values = param.detach().reshape(-1).index_select(0, index).float()
            entry = MaskedTensor(name, param, index, values, torch.zeros_like(values))
            param.register_post_accumulate_grad_hook(lambda _, entry=entry: self._reduce(entry))
            self.tensors.append(entry)
            if entry.masters_in_weight:
                entry.release_masters()
        self.optimizer = GradientGatedAdamW(
            [t.values for t in self.tensors], lr=lr, weight_decay=weight_decay
        )
        self._tap_tied_output_embeddings(model)

    def _tap_tied_output_embeddings(self, model: torch.nn.Module) -> None:
        """Route the output projection's gradient of a tied embedding through a `GradientTap`
        that keeps only its masked entries (see the module's docstring)."""
        if not hasattr(model, "get_output_embeddings"):
            return
        output, input_ = model.get_output_embeddings(), model.get_input_embeddings()
        if not isinstance(output, torch.nn.Linear) or output.weight is not input_.weight:
            return
        entry = next((t for t in self.tensors if t.param is output.weight), None)
        if entry is None:
            return

        def take(grad: torch.Tensor) -> None:
            entry.tapped = grad.reshape(-1).index_select(0, entry.index)

        def forward(hidden: torch.Tensor) -> torch.Tensor:
            weight = GradientTap.apply(output.weight, take)
            return torch.nn.functional.linear(hidden, weight, output.bias)

        output.forward = forward

    @property
    def entries(self) -> int:
        return sum(t.index.numel() for t in self.tensors)

    def _reduce(self, entry: MaskedTensor) -> None:
        """Post-accumulate-grad hook: the dense gradient becomes the masked one, then goes."""
        dense = entry.param.grad
        masked = dense.reshape(-1).index_select(0, entry.index)
        if entry.tapped is not None:  # autograd's sum of the two uses' gradients
            masked, entry.tapped = entry.tapped + masked, None
        if entry.micro_batches:
            entry.grad.add_(masked)
        else:
            entry.grad.copy_(masked)
        entry.micro_batches += 1
        if self.last_micro_batch:
            if self.world_size > 1:
                torch.distributed.all_reduce(entry.grad)
                entry.grad.div_(self.world_size)
            entry.norm = masked_norm(dense, entry.index, entry.grad, self._spare_buffer)
        entry.param.grad = None

    def _spare_buffer(self, numel: int) -> torch.Tensor:
        if self._spare.numel() < numel:
            self._spare = torch.empty(numel, device=self.tensors[0].grad.device)
        return self._spare[:numel]

    def step(self, max_grad_norm: float) -> None:
        """Clip to ``max_grad_norm`` (0: no clipping), step AdamW, write the values back."""
        stepped = [t for t in self.tensors if t.micro_batches]
        late = [t.name for t in stepped if t.norm is None]
        if late:
            raise RuntimeError(
                f"tensor {late[0]} got no gradient in the step's last micro-batch; the sparse "
                "optimizer state needs a gradient for every masked tensor in every micro-batch"
            )
        held_by_weights = [t for t in self.tensors if t.masters_in_weight]
        for t in held_by_weights:
            t.gather_masters()
        for t in self.tensors:
            t.values.grad = t.grad if t.micro_batches else None
        if max_grad_norm and stepped:
            total = torch.linalg.vector_norm(torch.stack([t.norm for t in stepped]), 2.0)
            torch.nn.utils.clip_grads_with_norm_([t.values for t in stepped], max_grad_norm, total)
        self.optimizer.step()
        for t in stepped:
            write_back(t.param, t.index, t.values)
            t.values.grad, t.micro_batches, t.norm = None, 0, None
        for t in held_by_weights:
            t.release_masters()

    @torch.no_grad()
    def master_values(self) -> dict[str, torch.Tensor]:
        """The master values of every masked tensor (copies where the weight holds them)."""
        return {
            t.name: t.param.detach().reshape(-1).index_select(0, t.index)
            if t.masters_in_weight
            else t.values
            for t in self.tensors
        }

    @torch.no_grad()
    def load_master_values(self, values: Mapping[str, torch.Tensor], source) -> None:
        """Restore saved master values (and so the weights inside the mask)."""
        if set(values) != {t.name for t in self.tensors}:
            raise ValueError(f"resume state {source}: masked tensors differ from this run's")
        for t in self.tensors:
            saved = values[t.name]
            if saved.shape != t.values.shape:
                raise ValueError(
                    f"resume state {source}: tensor {t.name} has {saved.numel()} masked "
                    f"values, this run's mask {t.values.numel()}"
                )
            if t.masters_in_weight:
                write_back(t.param, t.index, saved.to(t.param.device))
            else:
                t.values.copy_(saved)
                write_back(t.param, t.index, t.values)


class SparseBackend(PlainBackend):
    """The plain loop (micro-batches, bf16 autocast, lr schedule, saved state) around a
    `SparseMaskedState`, alone or in every process of a torchrun launch."""

    def __init__(
        self,
        model,
        state: SparseMaskedState,
        schedule,
        max_grad_norm: float,
        micro_batch_size: int,
        precision: str,
        device: torch.device,
        rank: int = 0,
    ):
        super().__init__(
            model, state.optimizer, schedule, max_grad_norm, micro_batch_size, precision, device
        )
        self.state = state
        self.rank, self.world_size = rank, state.world_size

    def begin_micro_batch(self, last: bool) -> None:
        self.state.last_micro_batch = last

    def optimizer_step(self) -> None:
        self.state.step(self.max_grad_norm)

    def mean_loss(self, total: torch.Tensor, micro_batches: int) -> float:
        if self.world_size > 1:
            torch.distributed.all_reduce(total)
        return total.item() / (micro_batches * self.world_size)

    def trainable_values(self) -> dict[str, torch.Tensor]:
        return self.state.master_values()

    def save_state(self, directory: Path) -> None:
        if self.rank == 0:  # every process holds the same state
            super().save_state(directory)

    def load_trainable(self, values: dict[str, torch.Tensor], directory: Path) -> None:
        self.state.load_master_values(values, directory)

    def full_state_dict(self, dtypes: dict[str, torch.dtype]) -> dict[str, torch.Tensor] | None:
        return super().full_state_dict(dtypes) if self.rank == 0 else None

    def barrier(self) -> None:
        if self.world_size > 1:
            torch.distributed.barrier()
