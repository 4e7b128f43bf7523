"""Small checkpoints for the engine's tests, written with the safetensors library itself
(an independent writer, so the tests also check the package's own reader)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

torch.set_num_threads(1)

INDEX_NAME = "model.safetensors.index.json"

# A LLaMA-like naming with a tensor of every tensor type and one 0-d tensor.
LLAMA_SHAPES = {
    "lm_head.weight": (11, 6),
    "model.embed_tokens.weight": (11, 6),
    "model.layers.0.input_layernorm.weight": (6,),
    "model.layers.0.mlp.down_proj.weight": (6, 8),
    "model.layers.0.mlp.gate_proj.weight": (8, 6),
    "model.layers.0.mlp.up_proj.weight": (8, 6),
    "model.layers.0.self_attn.k_proj.weight": (4, 6),
    "model.layers.0.self_attn.o_proj.weight": (6, 6),
    "model.layers.0.self_attn.q_proj.weight": (6, 6),
    "model.layers.0.self_attn.v_proj.weight": (4, 6),
    "model.norm.weight": (6,),
}


def random_tensors(
    shapes: dict, seed: int, dtype=torch.float32, scale: float = 1.0
) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        name: (torch.randn(shape, generator=gen) * scale).to(dtype)
        for name, shape in shapes.items()
    }


def write_checkpoint(
    path, tensors: dict[str, torch.Tensor], *, shards: int = 1, metadata: dict | None = None
) -> Path:
    """One .safetensors file (shards=1 and a path ending in .safetensors) or an HF directory."""
    path = Path(path)
    metadata = {"format": "pt", **(metadata or {})}
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    if shards == 1 and path.suffix == ".safetensors":
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata=metadata)
        return path
    path.mkdir(parents=True, exist_ok=True)
    if shards == 1:
        save_file(tensors, str(path / "model.safetensors"), metadata=metadata)
        return path
    names = sorted(tensors)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        save_file({n: tensors[n] for n in part}, str(path / file), metadata=metadata)
        weight_map.update(dict.fromkeys(part, file))
    (path / INDEX_NAME).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return path


def load_checkpoint(path) -> dict[str, torch.Tensor]:
    """All tensors of a single-file or sharded checkpoint, via the safetensors library."""
    path = Path(path)
    if path.is_file():
        return load_file(str(path))
    if (path / INDEX_NAME).exists():
        out = {}
        for file in sorted(set(json.loads((path / INDEX_NAME).read_text())["weight_map"].values())):
            out.update(load_file(str(path / file)))
        return out
    return load_file(str(path / "model.safetensors"))


def listing(directory) -> list[str]:
    """Every file under a directory (to check that nothing partial was left behind)."""
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*"))
