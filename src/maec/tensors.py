"""Tensor naming: what kind of tensor a parameter is, and in which decoder layer.

A **tensor type** is the fine kind of a tensor, a **family** the coarse kind (`embeddings`,
`attention`, `mlp`, `norms`, `lm_head`; the diagnostics aggregate by these). Table 8 and
`experiments.tensor_types` merge by types. Fused projections are types of their own (Phi-3's
and GPT-NeoX's `attention_qkv`, Phi-3's `mlp_gate_up`), so that no share of a fused tensor is
counted under one of its parts; the experts of a mixture of experts are MLP types (their
fused `gate_up_proj` an `mlp_gate_up`), its router `mlp_router`.

Types are read from the module a parameter belongs to: its path of attribute names, which
each architecture of `transformers` fixes (`self_attn.qkv_proj`, `mlp.experts.down_proj`).
`ARCHITECTURE_MODULES` lists them per architecture; a parameter that none of them types is
an error (`UntypedTensorError`), never a silent `other`. `tests/unit/test_tensors.py` types
every parameter of each architecture built from a tiny config and checks the families
against the modules' own classes.
"""

import re

# The module paths of each architecture: (architectures, [(module pattern, type)]). A
# pattern is matched against the parameter name without its `.weight` / `.bias`.
_EMBEDDINGS = [(r"(embed_tokens|embed_in|word_embeddings)", "embeddings")]
_OUTPUT = [(r"(lm_head|embed_out)", "lm_head")]
_NORMS = [(r"\w*(norm|layernorm|layer_norm)|ln_(f|attn|mlp)", "norm")]
ARCHITECTURE_MODULES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "LLaMA, Mistral, Qwen2/3, Gemma/Gemma-2, OLMo-2, Phi (separate projections)",
        [
            (r"self_attn\.q_proj", "attention_q"),
            (r"self_attn\.k_proj", "attention_k"),
            (r"self_attn\.v_proj", "attention_v"),
            (r"self_attn\.(o_proj|dense)", "attention_o"),
            (r"mlp\.gate_proj", "mlp_gate"),
            (r"mlp\.(up_proj|fc1)", "mlp_up"),
            (r"mlp\.(down_proj|fc2)", "mlp_down"),
        ],
    ),
    (
        "Phi-3 (fused projections)",
        [
            (r"self_attn\.qkv_proj", "attention_qkv"),
            (r"mlp\.gate_up_proj", "mlp_gate_up"),
        ],
    ),
    (
        "GPT-NeoX, Falcon",
        [
            (r"(attention|self_attention)\.query_key_value", "attention_qkv"),
            (r"(attention|self_attention)\.dense", "attention_o"),
            (r"mlp\.dense_h_to_4h", "mlp_up"),
            (r"mlp\.dense_4h_to_h", "mlp_down"),
        ],
    ),
    (
        "Mixtral, Qwen2-MoE, Qwen3-MoE (experts and shared experts)",
        [
            (r"mlp\.(gate|shared_expert_gate)", "mlp_router"),
            (r"mlp\.experts\.gate_up_proj", "mlp_gate_up"),
            (r"mlp\.experts\.down_proj", "mlp_down"),
            (r"mlp\.shared_expert\.gate_proj", "mlp_gate"),
            (r"mlp\.shared_expert\.up_proj", "mlp_up"),
            (r"mlp\.shared_expert\.down_proj", "mlp_down"),
        ],
    ),
    ("every architecture", _EMBEDDINGS + _OUTPUT + _NORMS),
]
_MODULE_TYPES = [
    (re.compile(rf"(^|.*\.)(?:{pattern})"), kind)
    for _, patterns in ARCHITECTURE_MODULES
    for pattern, kind in patterns
]
TENSOR_TYPES = (
    "embeddings",
    "lm_head",
    "norm",
    "attention_q",
    "attention_k",
    "attention_v",
    "attention_qkv",
    "attention_o",
    "mlp_gate",
    "mlp_up",
    "mlp_gate_up",
    "mlp_down",
    "mlp_router",
)
_PARAMETER = re.compile(r"\.(weight|bias)$")
_LAYER = re.compile(r"\.(layers|h)\.(\d+)\.")
_FAMILIES = {"embeddings": "embeddings", "lm_head": "lm_head", "norm": "norms"}


class UntypedTensorError(ValueError):
    """A parameter that no architecture's module names type."""


def _module_type(name: str) -> str | None:
    module = _PARAMETER.sub("", name)
    return next((kind for pattern, kind in _MODULE_TYPES if pattern.fullmatch(module)), None)


def tensor_type(name: str) -> str:
    """The tensor type of a parameter name (Table 8 merges by these types): one of
    `TENSOR_TYPES`; a name of no known architecture is an `UntypedTensorError`."""
    kind = _module_type(name)
    if kind is None:
        raise UntypedTensorError(f"tensor {name}: {untyped_message([name])}")
    return kind


def untyped_message(names) -> str:
    return (
        f"{len(names)} tensor(s) of no known architecture, e.g. {', '.join(sorted(names)[:3])}; "
        "the architectures whose module names are known: "
        + "; ".join(label for label, _ in ARCHITECTURE_MODULES[:-1])
        + " (maec.tensors.ARCHITECTURE_MODULES)"
    )


def check_typed(names, where) -> None:
    """Every tensor of `where` (a backbone, a delta) has a type."""
    untyped = [name for name in names if _module_type(name) is None]
    if untyped:
        raise UntypedTensorError(f"{where}: {untyped_message(untyped)}")


def tensor_layer(name: str) -> int | None:
    """The decoder layer of a parameter name (`model.layers.3.mlp.up_proj.weight`: 3; Falcon's
    `transformer.h.3.…`: 3), None outside the decoder layers."""
    match = _LAYER.search(name)
    return int(match.group(2)) if match else None


def tensor_family(tensor_type: str) -> str:
    """The family of a tensor type: embeddings, attention, mlp, norms or lm_head."""
    if tensor_type.startswith("attention"):
        return "attention"
    if tensor_type.startswith("mlp"):
        return "mlp"
    if tensor_type not in _FAMILIES:
        raise ValueError(f"{tensor_type!r} is not a tensor type ({', '.join(TENSOR_TYPES)})")
    return _FAMILIES[tensor_type]
