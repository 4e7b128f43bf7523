"""(Masked) continual pre-training on a tiny LLaMA: the mask invariant, learning, resume."""

import json

import pytest
import torch
from helpers.tiny import VOCAB, llama, save_word_tokenizer
from helpers.training import ARGS, CONFIGS, bits, make_corpus, partial_mask, weights
from transformers import AutoModelForCausalLM

from maec.data.tokens import TokenBlocks
from maec.training import run as training_run
from maec.training import setup as training_setup
from maec.training import train
from maec.training.backends import ReplicatedBackend, deepspeed_settings
from maec.training.optimizer import GradientGatedAdamW
from maec.training.plan import lr_factor, plan_steps
from maec.training.trainable import with_lora_adapters

torch.set_num_threads(1)


def test_plan_and_schedule_by_hand():
    plan = plan_steps(total_tokens=1000, batch_tokens=96, micro_batch_size=2, block_size=16)
    assert (plan.steps, plan.accumulation, plan.rows_per_step) == (10, 3, 6)
    with pytest.raises(
        ValueError,
        match=r"batch_tokens \(100\).*micro_batch_size \(2\).*"
        r"block_size \(16\) = 32",
    ):
        plan_steps(1000, 100, 2, 16)
    assert [lr_factor("constant", 2, 10)(s) for s in (0, 1, 2, 9)] == [0.5, 1.0, 1.0, 1.0]
    assert [lr_factor("linear", 2, 10)(s) for s in (0, 2, 6)] == [0.5, 1.0, 0.5]
    assert lr_factor("cosine", 0, 10)(5) == pytest.approx(0.5)
    assert lr_factor("cosine", 0, 10)(0) == 1.0


def test_gradient_gated_adamw_by_hand():
    """Decoupled decay only where a gradient has been seen; never-touched entries exact."""
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
    opt = GradientGatedAdamW([p], lr=0.1, weight_decay=0.5)
    lr, wd, b1, b2, eps = 0.1, 0.5, 0.9, 0.999, 1e-8
    p.grad = torch.tensor([0.5, 0.0, 0.0])
    opt.step()
    e0 = 1.0 * (1 - lr * wd) - lr * 0.5 / (0.5 + eps)  # mhat = g, vhat = g^2
    assert p.tolist() == pytest.approx([e0, 2.0, 3.0], abs=1e-7)
    assert p[1].item() == 2.0 and p[2].item() == 3.0
    p.grad = torch.tensor([0.0, 0.25, 0.0])
    opt.step()
    bc1, bc2 = 1 - b1**2, 1 - b2**2
    m0, v0 = b1 * (1 - b1) * 0.5, b2 * (1 - b2) * 0.25
    e0 = e0 * (1 - lr * wd) - lr * (m0 / bc1) / ((v0 / bc2) ** 0.5 + eps)
    m1, v1 = (1 - b1) * 0.25, (1 - b2) * 0.0625
    e1 = 2.0 * (1 - lr * wd) - lr * (m1 / bc1) / ((v1 / bc2) ** 0.5 + eps)
    assert p.tolist() == pytest.approx([e0, e1, 3.0], abs=1e-6)
    assert p[2].item() == 3.0


def test_masked_training_changes_only_the_mask(world):
    tmp_path, cats, dogs = world
    backbone = weights(tmp_path / "bf16")
    g = torch.Generator().manual_seed(0)
    partial = [
        "model.layers.0.self_attn.q_proj.weight",
        "model.embed_tokens.weight",
        "model.layers.1.mlp.up_proj.weight",
    ]
    mask = {name: torch.rand(backbone[name].shape, generator=g) < 0.3 for name in partial}
    mask["model.layers.1.mlp.down_proj.weight"] = torch.ones_like(
        backbone["model.layers.1.mlp.down_proj.weight"], dtype=torch.bool
    )
    mask["model.layers.0.mlp.gate_proj.weight"] = torch.zeros_like(
        backbone["model.layers.0.mlp.gate_proj.weight"], dtype=torch.bool
    )
    # embed_tokens: only rows of tokens that occur (ids < 12) get gradients; keep the
    # mask there so that "inside moved" is checked on entries that can move
    mask["model.embed_tokens.weight"][len(VOCAB) :] = False

    summary = train(
        tmp_path / "bf16",
        [(cats, 0.5), (dogs, 0.5)],
        tmp_path / "out",
        mask=mask,
        weight_decay=0.1,
        log_path=tmp_path / "logs" / "train.log",
        **ARGS,
    )

    out = weights(tmp_path / "out")
    assert set(out) == set(backbone)
    for name, before in backbone.items():
        after = out[name]
        assert after.dtype == torch.bfloat16 == before.dtype, name
        inside = mask.get(name, torch.zeros(before.shape, dtype=torch.bool))
        assert torch.equal(bits(after)[~inside], bits(before)[~inside]), name
        if inside.any():
            moved = (bits(after) != bits(before))[inside].float().mean().item()
            assert moved > 0.5, (name, moved)
    assert summary["steps"] == 6 and summary["tokens"] == 6 * 64
    assert summary["trainable_tensors"] == 4  # gate_proj (empty mask) is frozen
    kept = sum(int(m.sum()) for m in mask.values())
    assert summary["trainable_entries"] == kept
    assert summary["mask_density"] == pytest.approx(
        kept / sum(t.numel() for t in backbone.values())
    )
    recorded = json.loads((tmp_path / "out" / "training.json").read_text())
    assert recorded["tokens"] == 384 and recorded["final_loss"] == summary["final_loss"]
    assert recorded["gradient_accumulation"] == 2 and recorded["args"]["weight_decay"] == 0.1
    assert "loss" in (tmp_path / "logs" / "train.log").read_text()
    # an HF directory: config and tokenizer beside the weights, loadable
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert model.dtype == torch.bfloat16
    assert (tmp_path / "out" / "tokenizer.json").read_bytes() == (
        tmp_path / "bf16" / "tokenizer.json"
    ).read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_masked_training_rejects_a_foreign_mask(world):
    tmp_path, cats, _ = world
    shape = weights(tmp_path / "bf16")["lm_head.weight"].shape
    with pytest.raises(KeyError, match="'lm_head.bias' is not a parameter"):
        train(
            tmp_path / "bf16",
            [(cats, 1.0)],
            tmp_path / "o1",
            mask={"lm_head.bias": torch.ones(3, dtype=torch.bool)},
            **ARGS,
        )
    with pytest.raises(ValueError, match="'lm_head.weight' has shape"):
        train(
            tmp_path / "bf16",
            [(cats, 1.0)],
            tmp_path / "o2",
            mask={"lm_head.weight": torch.ones(shape[0], shape[1] + 1, dtype=torch.bool)},
            **ARGS,
        )
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def block_loss(model_dir, blocks):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    batch = torch.stack([blocks[i] for i in range(4)])
    with torch.no_grad():
        return model(input_ids=batch, labels=batch).loss.item()


def test_unmasked_training_lowers_the_loss(world):
    tmp_path, cats, _ = world
    summary = train(
        tmp_path / "fp32",
        [(cats, 1.0)],
        tmp_path / "out",
        **{**ARGS, "total_tokens": 30 * 64},
        warmup_steps=3,
        lr_schedule="cosine",
        weight_decay=0.01,
    )
    blocks = TokenBlocks(cats)
    before, after = block_loss(tmp_path / "fp32", blocks), block_loss(tmp_path / "out", blocks)
    assert after < 0.5 * before, (before, after)
    assert summary["mask_density"] == 1.0 and summary["final_loss"] < summary["log"][0]["loss"]
    changed = [
        n
        for n, t in weights(tmp_path / "out").items()
        if not torch.equal(t, weights(tmp_path / "fp32")[n])
    ]
    assert len(changed) == len(weights(tmp_path / "fp32"))


def test_lora_training_merges_adapters_into_target_modules_only(world):
    tmp, cats, _ = world
    out = tmp / "lora"
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    summary = train(tmp / "fp32", [(cats, 1.0)], out, lora=lora, **ARGS)
    before, after = weights(tmp / "fp32"), weights(out)
    assert set(after) == set(before)
    for name, tensor in before.items():
        moved = not torch.equal(bits(tensor), bits(after[name]))
        assert moved == ("q_proj" in name or "v_proj" in name), name
    assert 0 < summary["mask_density"] < 0.5
    AutoModelForCausalLM.from_pretrained(out)


def test_lora_takes_no_mask(world):
    tmp, cats, _ = world
    with pytest.raises(ValueError, match="lora"):
        train(
            tmp / "fp32",
            [(cats, 1.0)],
            tmp / "out",
            lora={"r": 2},
            mask={"lm_head.weight": torch.ones(96, 32, dtype=torch.bool)},
            **ARGS,
        )


def test_bad_arguments_fail_before_training(world, monkeypatch):
    tmp_path, cats, _ = world
    monkeypatch.setattr(training_setup, "find_state", lambda *a: pytest.fail("got too far"))
    with pytest.raises(ValueError, match=r"batch_tokens \(48\)"):
        train(tmp_path / "bf16", [(cats, 1.0)], tmp_path / "o", **{**ARGS, "batch_tokens": 48})
    with pytest.raises(ValueError, match="resume_dir .* must not be inside out_dir"):
        train(
            tmp_path / "bf16",
            [(cats, 1.0)],
            tmp_path / "o",
            resume_dir=tmp_path / "o" / "r",
            **ARGS,
        )
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        train(tmp_path / "bf16", [(str(tmp_path / "nope"), 1.0)], tmp_path / "o", **ARGS)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FileExistsError, match="full"):
        train(tmp_path / "bf16", [(cats, 1.0)], tmp_path / "full", **ARGS)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
def test_cuda_without_gpu_is_a_clear_error(world):
    tmp_path, cats, _ = world
    with pytest.raises(RuntimeError, match="no CUDA GPU is visible"):
        train(tmp_path / "bf16", [(cats, 1.0)], tmp_path / "o", **{**ARGS, "device": "cuda"})


def test_resume_state_of_another_run_is_refused(world, monkeypatch):
    tmp_path, cats, dogs = world
    mask = {"lm_head.weight": torch.ones(96, 32, dtype=torch.bool)}
    resume = tmp_path / "resume"

    def crash(*args, **kwargs):
        raise RuntimeError("crashed before saving")

    with monkeypatch.context() as m:
        m.setattr(training_run, "save_model", crash)
        with pytest.raises(RuntimeError, match="crashed"):
            train(
                tmp_path / "bf16",
                [(cats, 1.0)],
                tmp_path / "out",
                mask=mask,
                resume_dir=resume,
                save_every_steps=2,
                **ARGS,
            )
    assert [p.name for p in resume.iterdir()] == ["state-000000004"]
    with pytest.raises(ValueError, match=f"resume_dir {resume} .*differs in: args"):
        train(
            tmp_path / "bf16",
            [(cats, 1.0)],
            tmp_path / "out",
            mask=mask,
            resume_dir=resume,
            save_every_steps=2,
            **{**ARGS, "lr": 2e-2},
        )
    other_mask = {"lm_head.weight": torch.ones(96, 32, dtype=torch.bool)}
    other_mask["lm_head.weight"][0, 0] = False
    with pytest.raises(ValueError, match="differs in: mask"):
        train(
            tmp_path / "bf16",
            [(cats, 1.0)],
            tmp_path / "out",
            mask=other_mask,
            resume_dir=resume,
            **ARGS,
        )
    with pytest.raises(ValueError, match="differs in: backbone"):
        train(
            tmp_path / "fp32", [(cats, 1.0)], tmp_path / "out", mask=mask, resume_dir=resume, **ARGS
        )
    summary = train(
        tmp_path / "bf16", [(cats, 1.0)], tmp_path / "out", mask=mask, resume_dir=resume, **ARGS
    )
    assert summary["resumed_from_step"] == 4 and not resume.exists()


# --------------------------------------------------------------------------- DeepSpeed


def write_config(path, base="zero2", **entries):
    config = json.loads((CONFIGS / f"{base}.json").read_text())
    config.update(entries)
    path.write_text(json.dumps(config))
    return path


def test_deepspeed_settings_fill_in_and_refuse_contradictions(tmp_path):
    config, checkpointing = deepspeed_settings(
        CONFIGS / "zero2.json", micro_batch_size=2, accumulation=3, world_size=4, precision="bf16"
    )
    assert config["train_micro_batch_size_per_gpu"] == 2
    assert config["gradient_accumulation_steps"] == 3 and config["train_batch_size"] == 24
    assert config["bf16"]["enabled"] is True and config["zero_optimization"]["stage"] == 2
    assert checkpointing is True and "gradient_checkpointing" not in config
    assert config["gradient_clipping"] == 1.0
    zero3, _ = deepspeed_settings(
        CONFIGS / "zero3.json", micro_batch_size=1, accumulation=1, world_size=1, precision="fp32"
    )
    assert zero3["zero_optimization"]["stage"] == 3 and zero3["bf16"]["enabled"] is False
    kwargs = dict(micro_batch_size=2, accumulation=3, world_size=1, precision="fp32")
    with pytest.raises(
        ValueError,
        match=r"bad.json: train_micro_batch_size_per_gpu = 4 "
        r"contradicts .* give 2",
    ):
        deepspeed_settings(
            write_config(tmp_path / "bad.json", train_micro_batch_size_per_gpu=4), **kwargs
        )
    with pytest.raises(ValueError, match="train_batch_size = 8 contradicts"):
        deepspeed_settings(write_config(tmp_path / "bad.json", train_batch_size=8), **kwargs)
    with pytest.raises(ValueError, match="gradient_clipping = 0.5 contradicts .* give 1.0"):
        deepspeed_settings(write_config(tmp_path / "bad.json", gradient_clipping=0.5), **kwargs)
    with pytest.raises(ValueError, match="bf16.enabled = True contradicts precision='fp32'"):
        deepspeed_settings(write_config(tmp_path / "bad.json", bf16={"enabled": True}), **kwargs)
    with pytest.raises(ValueError, match="remove 'optimizer'"):
        deepspeed_settings(write_config(tmp_path / "bad.json", optimizer={}), **kwargs)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        deepspeed_settings(tmp_path / "nope.json", **kwargs)


@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_deepspeed_masked_training_changes_only_the_mask(world, deepspeed_env, stage):
    tmp_path, cats, dogs = world
    backbone = weights(tmp_path / "bf16")
    mask = partial_mask(backbone)
    summary = train(
        tmp_path / "bf16",
        [(cats, 0.5), (dogs, 0.5)],
        tmp_path / "out",
        mask=mask,
        weight_decay=0.1,
        precision="bf16",
        deepspeed_config=CONFIGS / f"{stage}.json",
        **ARGS,
    )
    out = weights(tmp_path / "out")
    assert set(out) == set(backbone)
    for name, before in backbone.items():
        inside = mask.get(name, torch.zeros(before.shape, dtype=torch.bool))
        assert out[name].dtype == torch.bfloat16, name
        assert torch.equal(bits(out[name])[~inside], bits(before)[~inside]), name
        if inside.any():
            assert (bits(out[name]) != bits(before))[inside].float().mean() > 0.5, name
    assert summary["trainable_tensors"] == 3
    assert summary["args"]["deepspeed"]["zero_optimization"]["stage"] == int(stage[-1])
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "out").dtype == torch.bfloat16


@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_deepspeed_matches_the_plain_loop(world, deepspeed_env, stage):
    """Same data, optimizer and clipping: ZeRO-2 and ZeRO-3 (the backbone loaded
    partitioned) in fp32 and the plain loop agree to rounding, including the mask's
    embedding rows of tokens absent from the corpus."""
    tmp_path, cats, _ = world
    mask = partial_mask(weights(tmp_path / "fp32"))
    mask["model.embed_tokens.weight"] = torch.zeros(96, 32, dtype=torch.bool)
    mask["model.embed_tokens.weight"][: len(VOCAB)] = True
    args = dict(mask=mask, weight_decay=0.1, **ARGS)
    train(tmp_path / "fp32", [(cats, 1.0)], tmp_path / "plain", **args)
    train(
        tmp_path / "fp32",
        [(cats, 1.0)],
        tmp_path / "ds",
        deepspeed_config=write_config(tmp_path / "ds.json", stage, gradient_checkpointing=False),
        precision="fp32",
        **args,
    )
    plain, ds = weights(tmp_path / "plain"), weights(tmp_path / "ds")
    for name in plain:
        torch.testing.assert_close(ds[name], plain[name], rtol=1e-5, atol=1e-6)


def test_deepspeed_resume_equals_an_uninterrupted_run(world, deepspeed_env, monkeypatch):
    tmp_path, cats, dogs = world
    mask = partial_mask(weights(tmp_path / "bf16"))
    args = dict(
        mask=mask,
        weight_decay=0.05,
        precision="bf16",
        save_every_steps=4,
        deepspeed_config=CONFIGS / "zero2.json",
        **{**ARGS, "total_tokens": 10 * 64},
    )
    corpora = [(cats, 0.7), (dogs, 0.3)]
    train(tmp_path / "bf16", corpora, tmp_path / "reference", **args)

    def crash(*a, **k):
        raise RuntimeError("crashed before saving")

    with monkeypatch.context() as m:
        m.setattr(training_run, "save_model", crash)
        with pytest.raises(RuntimeError, match="crashed"):
            train(tmp_path / "bf16", corpora, tmp_path / "out", resume_dir=tmp_path / "r", **args)
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["state-000000008"]
    with pytest.raises(ValueError, match="differs in: args"):
        train(
            tmp_path / "bf16",
            corpora,
            tmp_path / "out",
            resume_dir=tmp_path / "r",
            **{**args, "deepspeed_config": CONFIGS / "zero3.json"},
        )
    summary = train(tmp_path / "bf16", corpora, tmp_path / "out", resume_dir=tmp_path / "r", **args)
    assert summary["resumed_from_step"] == 8 and not (tmp_path / "r").exists()
    expected, got = weights(tmp_path / "reference"), weights(tmp_path / "out")
    for name in expected:
        assert torch.equal(bits(got[name]), bits(expected[name])), name


def test_importance_cpt_mask_file_then_masked_cpt(world):
    """The method's first three steps on the tiny model, the mask passed as a file."""
    masks = pytest.importorskip("maec.keyneurons.masks")
    tmp_path, cats, dogs = world
    train(tmp_path / "bf16", [(cats, 1.0)], tmp_path / "importance", **ARGS)
    masks.build_key_neuron_mask(
        tmp_path / "bf16",
        tmp_path / "importance",
        tmp_path / "mask.safetensors",
        k1=0.05,
        lr=ARGS["lr"],
    )
    summary = train(
        tmp_path / "bf16",
        [(cats, 0.5), (dogs, 0.5)],
        tmp_path / "masked",
        mask=tmp_path / "mask.safetensors",
        weight_decay=0.1,
        **ARGS,
    )
    mask = masks.read_mask(tmp_path / "mask.safetensors")
    before, after = weights(tmp_path / "bf16"), weights(tmp_path / "masked")
    moved = 0
    for name in before:
        inside = mask.get(name, torch.zeros(before[name].shape, dtype=torch.bool))
        assert torch.equal(bits(after[name])[~inside], bits(before[name])[~inside]), name
        moved += int((bits(after[name]) != bits(before[name]))[inside].sum())
    kept = sum(int(m.sum()) for m in mask.values())
    assert summary["trainable_entries"] == kept and moved > 0.5 * kept
    assert summary["mask"] == str(tmp_path / "mask.safetensors")


def test_tied_embeddings_keep_the_backbone_tensor_names(tmp_path):
    tied = llama(96, dtype=torch.bfloat16, num_hidden_layers=1, tie_word_embeddings=True)
    tied.save_pretrained(tmp_path / "tied")
    save_word_tokenizer(tmp_path / "tied")
    save_word_tokenizer(tmp_path / "bf16")  # make_corpus packs with this tokenizer
    cats = make_corpus(tmp_path, "cats", ["the cat sat on a mat"], 20)
    train(tmp_path / "tied", [(cats, 1.0)], tmp_path / "out", **ARGS)
    before, after = weights(tmp_path / "tied"), weights(tmp_path / "out")
    assert set(after) == set(before) and "lm_head.weight" not in after
    assert {n: t.dtype for n, t in after.items()} == {n: t.dtype for n, t in before.items()}
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)
    assert not torch.equal(after["model.embed_tokens.weight"], before["model.embed_tokens.weight"])


def test_replicas_that_differ_stop_the_save(monkeypatch):
    """Before rank 0 writes a DDP run's output, every replica's weights are hashed and the
    hashes compared: one that drifted is an error, not a silently rank-dependent output."""
    model = llama(96)
    dtypes = {name: t.dtype for name, t in model.state_dict().items()}
    backend = object.__new__(ReplicatedBackend)  # its state, without a process group
    backend.module, backend.rank, backend.world_size = model, 0, 2

    def gather(other):
        return lambda out, mine: out.__setitem__(slice(None), [mine, other or mine])

    monkeypatch.setattr(torch.distributed, "all_gather_object", gather(None))
    assert set(backend.full_state_dict(dtypes)) == set(dtypes)
    monkeypatch.setattr(torch.distributed, "all_gather_object", gather("0" * 64))
    with pytest.raises(RuntimeError, match="2 replicas hold different weights"):
        backend.full_state_dict(dtypes)


@pytest.mark.reliability
def test_lora_target_modules_that_name_no_module_are_refused():
    model = llama(16)
    lora = {"r": 2, "target_modules": ["o_proj", "qkv_proj"]}
    with pytest.raises(ValueError, match=r"'qkv_proj' is no module .* gate_proj, k_proj"):
        with_lora_adapters(model, lora)
