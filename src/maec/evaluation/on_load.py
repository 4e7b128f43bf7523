"""Merge on load: a merge variant computed into a loaded model's parameters, never written.

A variant exists only to be scored. Its evaluation loads the backbone once and runs the
variant's merge (`maec.combination.variant`) with the model's parameters as the merge's
output (`ParameterSink`) instead of a file. The merge's own code runs unchanged: each chunk is
computed in float32 and cast to the dtype the file would hold, then copied into the parameter,
as `from_pretrained` casts a file's tensors to the model's dtype. So the scores are those of
the written model, bit for bit (tests/e2e/test_demo_world.py), without its bytes on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch

from maec.combination.similarity import selected_tensors
from maec.combination.variant import variant_similarity, write_variant_merge
from maec.io.format import CheckpointError, torch_dtype
from maec.io.reader import open_checkpoint
from maec.io.stream import TensorSink

from .generation import read_model

log = logging.getLogger(__name__)


class ParameterSink(TensorSink):
    """A model's parameters as the output of a merge: `write_elementwise` copies each chunk
    into the parameter of the tensor's name. Every tensor of the merge must be one of the
    model's, with its shape; every tensor of the model must be one of the merge's or share its
    storage with one (tied embeddings), or the model would keep the backbone's values there."""

    def __init__(self, model: torch.nn.Module, label: str):
        self.targets = model.state_dict()  # views of the parameters and persistent buffers
        self.label = label

    def __str__(self) -> str:
        return self.label

    def writer(self, layout: Mapping[str, tuple]):
        for name, (shape, _) in layout.items():
            target = self.targets.get(name)
            if target is None:
                raise CheckpointError(
                    f"{self}: the merge's tensor {name} is not a tensor of the model, so it "
                    "cannot be merged on load (experiments.keep_variants writes the variants)"
                )
            if tuple(target.shape) != tuple(shape):
                raise CheckpointError(
                    f"{self}: tensor {name} is {list(shape)} in the merge and "
                    f"{list(target.shape)} in the model"
                )
        merged = {self.targets[name].untyped_storage().data_ptr() for name in layout}
        for name, target in self.targets.items():
            if name not in layout and target.untyped_storage().data_ptr() not in merged:
                raise CheckpointError(
                    f"{self}: the model's tensor {name} is not in the merge, so it would keep "
                    "the backbone's values"
                )
        return _ParameterWriter(self.targets)


class _ParameterWriter:
    def __init__(self, targets: Mapping[str, torch.Tensor]):
        self.targets = targets

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    @torch.no_grad()
    def write(self, name: str, start_row: int, chunk: torch.Tensor, on_written=None) -> None:
        target = self.targets[name]
        if target.dim():
            target = target[start_row : start_row + chunk.shape[0]]
        target.copy_(chunk)  # synchronous from pageable memory: the chunk's buffer is free
        if on_written is not None:
            on_written()


def written_dtype(backbone, dtype: str | None) -> torch.dtype | None:
    """The dtype of the variant's file: `merge.dtype`, else the backbone's when its floating
    tensors have one (None: mixed, the config's dtype decides, as for the written model)."""
    if dtype is not None:
        return torch_dtype(dtype)
    ckpt = open_checkpoint(backbone)
    floating = {ckpt.dtype(n) for n in ckpt.names if ckpt.dtype(n).is_floating_point}
    return floating.pop() if len(floating) == 1 else None


class MergedOnLoad:
    """A merge variant to score, merged when the evaluation first needs it (after every
    benchmark file is checked): `settings` are `maec.workflow.variants.variant_merge_settings`'
    and `inputs` its `variant_inputs`. `load(device)` loads the backbone's directory (float32
    on CPU; on GPU the dtype the variant's file would have, as `load_model` loads that file),
    merges into it and keeps the result."""

    def __init__(self, inputs: Mapping, settings: Mapping, name: str):
        self.inputs, self.settings, self.name = inputs, settings, name
        self._loaded = None

    def __str__(self) -> str:
        return f"{self.name} (merged on load)"

    def load(self, device: torch.device):
        if self._loaded is None:
            rows = variant_similarity(self.inputs, self.settings)  # checks the deltas first
            selected = selected_tensors(rows)
            log.info("%s: %d of %d tensors in T", self, len(selected), len(rows))
            dtype = written_dtype(self.inputs["backbone"], self.settings["dtype"])
            model, tokenizer = read_model(self.inputs["backbone"], device, dtype)
            write_variant_merge(
                self.inputs, self.settings, selected, ParameterSink(model, str(self))
            )
            self._loaded = model, tokenizer
        return self._loaded


def model_to_score(inputs: Mapping, settings: Mapping | None, name: str):
    """What an evaluation job scores: the model directory `inputs["model"]`, or with merge
    `settings` the variant `name` merged on load."""
    if settings is None:
        return inputs["model"]
    return MergedOnLoad(inputs, settings, name)
