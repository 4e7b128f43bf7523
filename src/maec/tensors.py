"""Tensor naming: what kind of tensor a parameter name is, and in which decoder layer.

A **tensor type** is the fine kind of a tensor (`embeddings`, `attention_q/k/v/o`,
`mlp_gate/up/down`, `norm`, `lm_head`, `other`; Table 8 and `experiments.tensor_types` merge
by these), a **family** the coarse kind (`embeddings`, `attention`, `mlp`, `norms`,
`lm_head`, `other`; the diagnostics aggregate by these). Types are read from LLaMA/Qwen
parameter names.
"""

import re

_TENSOR_TYPES = [  # (marker in the parameter name, tensor type), first match wins
    ("embed_tokens", "embeddings"),
    ("lm_head", "lm_head"),
    ("q_proj", "attention_q"),
    ("k_proj", "attention_k"),
    ("v_proj", "attention_v"),
    ("o_proj", "attention_o"),
    ("gate_proj", "mlp_gate"),
    ("up_proj", "mlp_up"),
    ("down_proj", "mlp_down"),
    ("norm", "norm"),
]
_LAYER = re.compile(r"\.layers\.(\d+)\.")
_FAMILIES = {  # tensor types outside attention and mlp that are a family of their own
    "embeddings": "embeddings",
    "lm_head": "lm_head",
    "norm": "norms",
    "other": "other",
}


def tensor_type(name: str) -> str:
    """The tensor type of a LLaMA/Qwen parameter name (Table 8 merges by these types):
    embeddings, attention_q/k/v/o, mlp_gate/up/down, norm, lm_head or other."""
    for marker, kind in _TENSOR_TYPES:
        if marker in name:
            return kind
    return "other"


def tensor_layer(name: str) -> int | None:
    """The decoder layer of a parameter name (`model.layers.3.mlp.up_proj.weight`: 3), None
    outside the decoder layers."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def tensor_family(tensor_type: str) -> str:
    """The family of a tensor type: embeddings, attention, mlp, norms, lm_head or other."""
    if tensor_type.startswith("attention"):
        return "attention"
    if tensor_type.startswith("mlp"):
        return "mlp"
    return _FAMILIES.get(tensor_type, "other")
