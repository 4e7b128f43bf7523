"""Masked CPT with the sparse optimizer state: by hand, against the dense masked path (bit for
bit, fp32 and bf16), and the invariant (kill + resume and two processes against one:
tests/distributed/test_training_processes.py)."""

import pytest
import torch
from helpers.tiny import VOCAB, llama, save_word_tokenizer
from helpers.training import ARGS, bits, mask_with_embedding_rows, partial_mask, weights

from maec.keyneurons.masks import mask_index
from maec.training import run as training_run
from maec.training import train
from maec.training.resume import mask_fingerprint
from maec.training.sparse import SparseMaskedState, load_mask_indices, masked_norm

torch.set_num_threads(1)


# --------------------------------------------------------------------------- by hand


class Scaled(torch.nn.Module):
    """loss = Σ W ⊙ C, so dL/dW = C: gradients known by heart."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([[1.0, -2.0, 3.0], [0.5, -0.0, 4.0]]))
        self.other = torch.nn.Parameter(torch.tensor([7.0, 8.0]))

    def forward(self, c):
        return (self.weight * c).sum() + self.other.sum()


def test_sparse_state_step_by_hand():
    """Two micro-batches accumulate, the norm is of the masked gradient only, clipping,
    AdamW with gated decay, write-back; dense gradients are freed in the hook."""
    model = Scaled()
    bits_ = torch.tensor([[True, False, False], [False, False, True]])
    lr, wd, max_norm, eps = 0.1, 0.5, 1.0, 1e-8
    state = SparseMaskedState(model, {"weight": mask_index(bits_)}, lr=lr, weight_decay=wd)
    assert not model.other.requires_grad  # no entry in the mask: frozen
    assert state.tensors[0].index.dtype == torch.int32 and state.entries == 2
    c1 = torch.tensor([[1.0, 5.0, 5.0], [5.0, 5.0, 2.0]])
    c2 = torch.tensor([[2.0, 5.0, 5.0], [5.0, 5.0, 2.0]])
    before = model.weight.detach().clone()
    for c, last in ((c1, False), (c2, True)):
        state.last_micro_batch = last
        model(c).backward()
        assert model.weight.grad is None  # reduced to the masked entries and freed
    assert state.tensors[0].grad.tolist() == [3.0, 4.0]  # C1 + C2 at (0, 0) and (1, 2)
    assert state.tensors[0].norm.item() == 5.0  # outside the mask not counted
    state.step(max_norm)
    clipped = [3.0 / (5.0 + 1e-6), 4.0 / (5.0 + 1e-6)]  # max_norm / (norm + 1e-6)
    # first Adam step: m̂ = g, v̂ = g², update = lr · g / (|g| + eps); decay first
    expected = [w * (1 - lr * wd) - lr * g / (abs(g) + eps) for w, g in zip([1.0, 4.0], clipped)]
    after = model.weight.detach()
    assert after[0, 0].item() == pytest.approx(expected[0], abs=1e-7)
    assert after[1, 2].item() == pytest.approx(expected[1], abs=1e-7)
    outside = ~bits_
    assert torch.equal(bits(after)[outside], bits(before)[outside])  # -0.0 included
    moments = state.optimizer.state[state.tensors[0].values]
    assert moments["exp_avg"].numel() == moments["exp_avg_sq"].numel() == 2


def test_a_float32_weight_is_its_own_master_copy():
    """Between steps a float32 weight's masked entries have no second copy (no memory held
    for them); a saved state still gets their values. A bf16 weight keeps float32 masters."""
    mask = {"weight": mask_index(torch.tensor([[True, False, False], [False, False, True]]))}
    state = SparseMaskedState(Scaled(), mask, lr=0.1, weight_decay=0.0)
    held = state.tensors[0]
    assert held.values.untyped_storage().nbytes() == 0
    held.param.sum().backward()
    state.step(0.0)
    assert held.values.untyped_storage().nbytes() == 0
    stepped = held.param.detach()[[0, 1], [0, 2]]
    assert torch.equal(state.master_values()["weight"], stepped) and stepped[0] != 1.0
    half = Scaled().to(torch.bfloat16)
    state = SparseMaskedState(half, mask, lr=0.1, weight_decay=0.0)
    assert state.tensors[0].values.untyped_storage().nbytes() == 2 * 4


def test_masked_norm_sums_in_the_dense_layout():
    """A float32 norm depends on the order of its terms: the masked norm equals the norm of
    the dense path's gradient (zeros outside the mask), for float32 and bf16 gradients."""
    g = torch.Generator().manual_seed(3)
    differs = 0
    for numel in (1000, 65537, 300007):
        dense = torch.randn(numel, generator=g)
        index = torch.randperm(numel, generator=g)[: numel // 20].sort().values.int()
        masked = dense[index.long()].clone()
        expected = torch.zeros(numel).index_put_((index.long(),), masked)
        want = torch._foreach_norm([expected], 2.0)[0]
        got = masked_norm(dense.clone(), index, masked, spare=None)
        got_bf16 = masked_norm(dense.bfloat16(), index, masked, spare=lambda n: torch.empty(n))
        assert got.item() == want.item() == got_bf16.item()
        differs += torch.linalg.vector_norm(masked).item() != want.item()
    assert differs  # the packed values alone would sum in another order


# --------------------------------------------------------------------------- vs dense


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_sparse_state_equals_the_dense_masked_path(world, precision):
    """Accumulation (2 micro-batches), clipping, gated weight decay, a warmup schedule: the
    same weights bit for bit, in fp32 and in bf16 (bf16 autocast), and the invariant."""
    tmp, cats, dogs = world
    backbone_dir = tmp / ("fp32" if precision == "fp32" else "bf16")
    backbone = weights(backbone_dir)
    mask = mask_with_embedding_rows(backbone)
    args = dict(
        mask=mask,
        weight_decay=0.1,
        precision=precision,
        warmup_steps=2,
        lr_schedule="cosine",
        **ARGS,
    )
    corpora = [(cats, 0.5), (dogs, 0.5)]
    dense = train(backbone_dir, corpora, tmp / "dense", **args)
    sparse = train(backbone_dir, corpora, tmp / "sparse", optimizer_state="sparse", **args)
    assert sparse["gradient_accumulation"] == 2 and sparse["final_loss"] == dense["final_loss"]
    for key in ("trainable_entries", "total_entries", "trainable_tensors", "mask_density"):
        assert sparse[key] == dense[key], key
    assert sparse["args"]["optimizer_state"] == "sparse"
    got, expected = weights(tmp / "sparse"), weights(tmp / "dense")
    assert set(got) == set(backbone)
    for name, before in backbone.items():
        assert got[name].dtype == before.dtype, name
        assert torch.equal(bits(got[name]), bits(expected[name])), name
        inside = mask.get(name, torch.zeros(before.shape, dtype=torch.bool))
        assert torch.equal(bits(got[name])[~inside], bits(before)[~inside]), name
        if inside.any():
            assert (bits(got[name]) != bits(before))[inside].float().mean() > 0.5, name


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_tied_embeddings_equal_the_dense_masked_path(world, precision, monkeypatch):
    """A tied embedding (one tensor, two uses): the output projection's gradient is reduced
    as it is made, so the dense gradient the hook finds is the input embedding's alone (zero
    in the rows of tokens that never occur), and the weights still equal the dense masked
    path's bit for bit."""
    tmp, cats, dogs = world
    dtype = torch.float32 if precision == "fp32" else torch.bfloat16
    tied = llama(96, dtype=dtype, max_position_embeddings=64, tie_word_embeddings=True)
    tied.save_pretrained(tmp / "tied")
    save_word_tokenizer(tmp / "tied")
    backbone = weights(tmp / "tied")
    mask = {"model.embed_tokens.weight": torch.zeros(96, 32, dtype=torch.bool)}
    mask["model.embed_tokens.weight"][: len(VOCAB), ::3] = True
    g = torch.Generator().manual_seed(1)
    mask["model.layers.0.self_attn.q_proj.weight"] = (
        torch.rand(backbone["model.layers.0.self_attn.q_proj.weight"].shape, generator=g) < 0.3
    )
    seen = []
    real_reduce = SparseMaskedState._reduce

    def recording_reduce(self, entry):
        if entry.name == "model.embed_tokens.weight":
            seen.append((entry.tapped is not None, entry.param.grad[len(VOCAB) :].abs().sum()))
        real_reduce(self, entry)

    monkeypatch.setattr(SparseMaskedState, "_reduce", recording_reduce)
    args = dict(mask=mask, weight_decay=0.1, precision=precision, **ARGS)
    corpora = [(cats, 0.5), (dogs, 0.5)]
    dense = train(tmp / "tied", corpora, tmp / "dense", **args)
    sparse = train(tmp / "tied", corpora, tmp / "sparse", optimizer_state="sparse", **args)
    assert seen and all(tapped and unused_rows == 0 for tapped, unused_rows in seen)
    assert sparse["final_loss"] == dense["final_loss"]
    got, expected = weights(tmp / "sparse"), weights(tmp / "dense")
    assert set(got) == set(backbone) and "lm_head.weight" not in got
    for name, before in backbone.items():
        assert torch.equal(bits(got[name]), bits(expected[name])), name
        inside = mask.get(name, torch.zeros(before.shape, dtype=torch.bool))
        assert torch.equal(bits(got[name])[~inside], bits(before)[~inside]), name
    moved = bits(got["model.embed_tokens.weight"]) != bits(backbone["model.embed_tokens.weight"])
    assert moved[mask["model.embed_tokens.weight"]].float().mean() > 0.5


def test_only_one_dense_gradient_exists_at_a_time(world, monkeypatch):
    """Each hook finds only its own tensor's dense gradient: the others were freed."""
    tmp, cats, _ = world
    live = []
    real_reduce = SparseMaskedState._reduce

    def counting_reduce(self, entry):
        live.append(sum(t.param.grad is not None for t in self.tensors))
        real_reduce(self, entry)

    monkeypatch.setattr(SparseMaskedState, "_reduce", counting_reduce)
    mask = mask_with_embedding_rows(weights(tmp / "fp32"))
    train(tmp / "fp32", [(cats, 1.0)], tmp / "o", mask=mask, optimizer_state="sparse", **ARGS)
    assert live and max(live) == 1


def test_sparse_state_refuses_what_it_cannot_train(world):
    tmp, cats, _ = world
    with pytest.raises(ValueError, match="needs a mask"):
        train(tmp / "fp32", [(cats, 1.0)], tmp / "o", optimizer_state="sparse", **ARGS)
    mask = partial_mask(weights(tmp / "fp32"))
    with pytest.raises(ValueError, match="replaces DeepSpeed"):
        train(
            tmp / "fp32",
            [(cats, 1.0)],
            tmp / "o",
            mask=mask,
            optimizer_state="sparse",
            deepspeed_config="config/deepspeed/zero2.json",
            **ARGS,
        )
    with pytest.raises(ValueError, match="optimizer_state must be one of"):
        train(tmp / "fp32", [(cats, 1.0)], tmp / "o", mask=mask, optimizer_state="x", **ARGS)
    with pytest.raises(ValueError, match="'lm_head.weight' has shape"):
        train(
            tmp / "fp32",
            [(cats, 1.0)],
            tmp / "o",
            mask={"lm_head.weight": torch.ones(96, 33, dtype=torch.bool)},
            optimizer_state="sparse",
            **ARGS,
        )
    assert not (tmp / "o").exists()


def test_dense_resume_state_is_refused_by_the_sparse_path(world, monkeypatch):
    tmp, cats, _ = world
    mask = partial_mask(weights(tmp / "fp32"))

    def crash(*args, **kwargs):
        raise RuntimeError("crashed before saving")

    args = dict(mask=mask, resume_dir=tmp / "r", save_every_steps=2, **ARGS)
    with monkeypatch.context() as m:
        m.setattr(training_run, "save_model", crash)
        with pytest.raises(RuntimeError, match="crashed"):
            train(tmp / "fp32", [(cats, 1.0)], tmp / "o", **args)
    # the same mask, held as positions, has the same identity: only the arguments differ
    assert mask_fingerprint(load_mask_indices(mask)) == mask_fingerprint(mask)
    with pytest.raises(ValueError, match=r"differs in: args\)"):
        train(tmp / "fp32", [(cats, 1.0)], tmp / "o", optimizer_state="sparse", **args)


# --------------------------------------------------------------------------- resume


# --------------------------------------------------------------------------- processes
