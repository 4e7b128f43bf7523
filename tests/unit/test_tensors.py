"""Tensor naming (maec.tensors): the tensor type of a LLaMA/Qwen parameter name."""

from maec.tensors import tensor_type


def test_tensor_types():
    assert tensor_type("model.embed_tokens.weight") == "embeddings"
    assert tensor_type("lm_head.weight") == "lm_head"
    assert tensor_type("model.layers.3.self_attn.q_proj.weight") == "attention_q"
    assert tensor_type("model.layers.3.self_attn.k_proj.bias") == "attention_k"
    assert tensor_type("model.layers.3.self_attn.v_proj.weight") == "attention_v"
    assert tensor_type("model.layers.3.self_attn.o_proj.weight") == "attention_o"
    assert tensor_type("model.layers.3.mlp.gate_proj.weight") == "mlp_gate"
    assert tensor_type("model.layers.3.mlp.up_proj.weight") == "mlp_up"
    assert tensor_type("model.layers.3.mlp.down_proj.weight") == "mlp_down"
    assert tensor_type("model.layers.3.self_attn.q_norm.weight") == "norm"
    assert tensor_type("model.layers.3.post_attention_layernorm.weight") == "norm"
    assert tensor_type("model.norm.weight") == "norm"
    assert tensor_type("model.rotary_emb.inv_freq") == "other"
