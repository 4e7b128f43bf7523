"""Tensor naming (maec.tensors): every parameter of each architecture that `transformers`
builds from a tiny config gets the type a human would give it, checked against the classes
of the modules it belongs to; fused projections are types of their own."""

import pytest
import torch
import yaml
from helpers.configs import SCHEMA
from transformers import AutoConfig, AutoModelForCausalLM

from maec.tensors import (
    ARCHITECTURE_MODULES,
    TENSOR_TYPES,
    UntypedTensorError,
    check_typed,
    tensor_family,
    tensor_layer,
    tensor_type,
)

TINY = dict(
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=64,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=1,
)
ARCHITECTURES = {
    "llama": {},
    "mistral": {},
    "qwen2": {},  # biases on q, k and v
    "qwen3": {"head_dim": 4},  # q_norm and k_norm
    "gemma2": {"head_dim": 4},  # four norms per layer, tied embeddings
    "olmo2": {},
    "phi": {},  # biases everywhere, fc1/fc2, self_attn.dense
    "phi3": {},  # fused qkv_proj and gate_up_proj
    "gpt_neox": {},  # fused query_key_value
    "falcon": {},  # transformer.h.{i}, fused query_key_value
    "mixtral": {"num_local_experts": 2, "num_experts_per_tok": 1},
    "qwen2_moe": {
        "num_experts": 2,
        "moe_intermediate_size": 8,
        "shared_expert_intermediate_size": 8,
    },
    "qwen3_moe": {"num_experts": 2, "moe_intermediate_size": 8, "head_dim": 4},
}
# leaf modules of fused or expert weights, and the type a human gives them
FUSED = {
    "qkv_proj": "attention_qkv",
    "query_key_value": "attention_qkv",
    "gate_up_proj": "mlp_gate_up",
}


def tiny_model(architecture: str):
    config = AutoConfig.for_model(architecture, **TINY, **ARCHITECTURES[architecture])
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def family_from_classes(model, name: str) -> str:
    """The family of a parameter as its modules' classes say: an embedding, the output
    layer, a norm, or a parameter inside an attention or MLP / mixture-of-experts block."""
    path = name.split(".")[:-1]
    output = model.get_output_embeddings()
    modules = [model]
    for part in path:
        modules.append(getattr(modules[-1], part))
    owner = modules[-1]
    if owner is output:
        return "lm_head"
    if isinstance(owner, torch.nn.Embedding):
        return "embeddings"
    if "norm" in type(owner).__name__.lower():
        return "norms"
    classes = [type(m).__name__.lower() for m in modules]
    if any("attention" in c for c in classes):
        return "attention"
    if any(word in c for c in classes for word in ("mlp", "moe", "expert")):
        return "mlp"
    raise AssertionError(f"{name}: no class says what it is ({classes})")


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_parameter_is_typed_as_its_modules_say(architecture):
    model = tiny_model(architecture)
    names = [name for name, _ in model.named_parameters()]
    check_typed(names, architecture)
    for name in names:
        kind = tensor_type(name)
        assert kind in TENSOR_TYPES
        assert tensor_family(kind) == family_from_classes(model, name), name
        leaf = name.removesuffix(".weight").removesuffix(".bias").rsplit(".", 1)[-1]
        if leaf in FUSED:
            assert kind == FUSED[leaf], name
    layers = {tensor_layer(name) for name in names} - {None}
    assert layers == {0, 1}


def test_the_types_of_a_fused_and_a_mixture_of_experts_backbone():
    phi3 = {name: tensor_type(name) for name, _ in tiny_model("phi3").named_parameters()}
    assert phi3["model.layers.0.self_attn.qkv_proj.weight"] == "attention_qkv"
    assert phi3["model.layers.0.mlp.gate_up_proj.weight"] == "mlp_gate_up"
    assert "attention_v" not in phi3.values() and "mlp_up" not in phi3.values()
    moe = {name: tensor_type(name) for name, _ in tiny_model("qwen2_moe").named_parameters()}
    assert moe["model.layers.0.mlp.gate.weight"] == "mlp_router"
    assert moe["model.layers.0.mlp.shared_expert_gate.weight"] == "mlp_router"
    assert moe["model.layers.0.mlp.experts.down_proj"] == "mlp_down"
    assert moe["model.layers.0.mlp.shared_expert.up_proj.weight"] == "mlp_up"


def test_llama_names_by_hand():
    assert tensor_type("model.embed_tokens.weight") == "embeddings"
    assert tensor_type("lm_head.weight") == "lm_head"
    assert tensor_type("model.layers.3.self_attn.k_proj.bias") == "attention_k"
    assert tensor_type("model.layers.3.self_attn.q_norm.weight") == "norm"
    assert tensor_type("model.layers.3.mlp.gate_proj.weight") == "mlp_gate"
    assert tensor_layer("model.layers.3.mlp.up_proj.weight") == 3
    assert tensor_layer("model.norm.weight") is None


def test_a_tensor_of_no_known_architecture_is_named_not_typed_other():
    with pytest.raises(UntypedTensorError, match=r"tensor model.rotary_emb.inv_freq: 1 tensor"):
        tensor_type("model.rotary_emb.inv_freq")
    with pytest.raises(UntypedTensorError, match=r"^backbone: 2 tensor\(s\) .* e\.g\. a, b"):
        check_typed(["model.embed_tokens.weight", "b", "a"], "backbone")
    assert len(ARCHITECTURE_MODULES) >= 4


def test_the_config_schema_offers_exactly_these_types():

    schema = yaml.safe_load(open(SCHEMA))
    groups = schema["properties"]["experiments"]["properties"]["tensor_types"]
    assert groups["additionalProperties"]["items"]["enum"] == list(TENSOR_TYPES)
