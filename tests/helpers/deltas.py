"""Hand-made R(A) and R_Lang whose cosines are known by heart: one tensor of each type."""

import torch

R_A = {
    "model.layers.0.mlp.up_proj.weight": torch.tensor([[1.0, 0.0]]),  # cos 1
    "model.layers.1.mlp.up_proj.weight": torch.tensor([[1.0, 0.0]]),  # cos 1/√2
    "model.layers.0.self_attn.q_proj.weight": torch.tensor([[0.0, 2.0]]),  # cos 0 (orthogonal)
    "model.embed_tokens.weight": torch.tensor([[0.0, 0.0]]),  # cos 0 (zero R(A))
    "model.norm.weight": torch.tensor([1.0, 1.0]),  # cos −1
}


R_LANG = {
    "model.layers.0.mlp.up_proj.weight": torch.tensor([[3.0, 0.0]]),
    "model.layers.1.mlp.up_proj.weight": torch.tensor([[1.0, 1.0]]),
    "model.layers.0.self_attn.q_proj.weight": torch.tensor([[1.0, 0.0]]),
    "model.embed_tokens.weight": torch.tensor([[5.0, 5.0]]),
    "model.norm.weight": torch.tensor([-2.0, -2.0]),
}
