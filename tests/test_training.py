"""(Masked) continual pre-training on a tiny LLaMA: the mask invariant, learning, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny import VOCAB, llama, save_word_tokenizer
from transformers import AutoModelForCausalLM

from maec.data.tokens import TokenBlocks, pack_corpus
from maec.training import run as training_run
from maec.training import setup as training_setup
from maec.training import train
from maec.training.backends import ReplicatedBackend, deepspeed_settings, free_port
from maec.training.launch import launch_training
from maec.training.optimizer import GradientGatedAdamW
from maec.training.plan import lr_factor, plan_steps

torch.set_num_threads(1)

BLOCK = 16


def make_backbone(directory, dtype=torch.bfloat16):
    model = llama(96, dtype=dtype, max_position_embeddings=64)
    with torch.no_grad():  # negative zeros must keep their sign bit too
        model.model.layers[0].self_attn.q_proj.weight[0, :16] = -0.0
        model.lm_head.weight[:, 0] = -0.0
    model.save_pretrained(directory)
    save_word_tokenizer(directory)
    return directory


def make_corpus(tmp_path, name, sentences, repeat):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"text": s}) + "\n" for s in sentences * repeat))
    pack_corpus(path, tmp_path / "bf16", tmp_path / "tokens" / name, block_size=BLOCK)
    return str(tmp_path / "tokens" / name)


@pytest.fixture
def world(tmp_path):
    make_backbone(tmp_path / "bf16", torch.bfloat16)
    make_backbone(tmp_path / "fp32", torch.float32)
    cats = make_corpus(tmp_path, "cats", ["the cat sat on a mat", "a cat ran far away"], 40)
    dogs = make_corpus(tmp_path, "dogs", ["the dog ran", "a dog sat on the mat"], 40)
    return tmp_path, cats, dogs


ARGS = dict(lr=1e-2, total_tokens=6 * 64, batch_tokens=64, micro_batch_size=2, seed=1, device="cpu")


def weights(directory):
    return load_file(Path(directory) / "model.safetensors")


def bits(t):
    """Bit pattern of a floating tensor, to compare exactly (NaN and -0.0 included)."""
    return t.view({2: torch.int16, 4: torch.int32}[t.element_size()])


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


RUN_SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from maec.training import train
train(sys.argv[1], [(sys.argv[2], 0.7), (sys.argv[3], 0.3)], sys.argv[4], resume_dir=sys.argv[5],
      lr=3e-3, total_tokens={total}, batch_tokens=64, micro_batch_size=2, seed=5,
      weight_decay=0.05, lr_schedule="linear", warmup_steps=3, save_every_steps=3, device="cpu")
"""


def test_killed_run_resumes_to_the_uninterrupted_result(world):
    tmp_path, cats, dogs = world
    steps = 150
    reference = train(
        tmp_path / "fp32",
        [(cats, 0.7), (dogs, 0.3)],
        tmp_path / "reference",
        lr=3e-3,
        total_tokens=steps * 64,
        batch_tokens=64,
        micro_batch_size=2,
        seed=5,
        weight_decay=0.05,
        lr_schedule="linear",
        warmup_steps=3,
        save_every_steps=3,
        device="cpu",
        resume_dir=tmp_path / "unused",
    )
    assert reference["resumed_from_step"] == 0
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT.format(total=steps * 64))
    argv = [
        sys.executable,
        str(script),
        str(tmp_path / "fp32"),
        cats,
        dogs,
        str(tmp_path / "out"),
        str(tmp_path / "resume"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "resume").glob("state-*")):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert not (tmp_path / "out").exists(), "the run finished before it was killed"
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    resumed = json.loads((tmp_path / "out" / "training.json").read_text())
    assert 0 < resumed["resumed_from_step"] < steps
    assert not (tmp_path / "resume").exists()
    expected, got = weights(tmp_path / "reference"), weights(tmp_path / "out")
    for name in expected:
        assert torch.equal(bits(got[name]), bits(expected[name])), name
    assert resumed["final_loss"] == reference["final_loss"]


# --------------------------------------------------------------------------- DeepSpeed

CONFIGS = Path(__file__).resolve().parents[1] / "config" / "deepspeed"


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


@pytest.fixture
def deepspeed_env(monkeypatch):
    pytest.importorskip("deepspeed")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)


def partial_mask(backbone):
    g = torch.Generator().manual_seed(1)
    mask = {
        name: torch.rand(backbone[name].shape, generator=g) < 0.3
        for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight")
    }
    mask["lm_head.weight"] = torch.ones(backbone["lm_head.weight"].shape, dtype=torch.bool)
    mask["model.layers.0.mlp.gate_proj.weight"] = torch.zeros(
        backbone["model.layers.0.mlp.gate_proj.weight"].shape, dtype=torch.bool
    )
    return mask


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


TWO_PROCESS_SCRIPT = """
import json, sys, torch
torch.set_num_threads(1)
from maec.training import train
args = json.loads(sys.argv[1])
mask = {name: torch.tensor(bits, dtype=torch.bool) for name, bits in args.pop("mask").items()}
train(args.pop("backbone"), args.pop("corpora"), args.pop("out_dir"), mask=mask, **args)
"""


def test_deepspeed_two_processes_match_one(world, deepspeed_env, monkeypatch):
    """torchrun with 2 processes (rows of each step split between them) gives the weights
    of one process accumulating twice as many micro-batches, and keeps the invariant."""
    tmp_path, cats, dogs = world
    mask = partial_mask(weights(tmp_path / "fp32"))
    args = dict(
        lr=1e-2,
        total_tokens=4 * 128,
        batch_tokens=128,
        micro_batch_size=2,
        seed=2,
        weight_decay=0.1,
        precision="fp32",
        deepspeed_config=str(CONFIGS / "zero2.json"),
    )
    corpora = [[cats, 0.5], [dogs, 0.5]]
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESS_SCRIPT)
    payload = json.dumps(
        {
            "backbone": str(tmp_path / "fp32"),
            "corpora": corpora,
            "out_dir": str(tmp_path / "two"),
            "mask": {n: m.tolist() for n, m in mask.items()},
            **args,
        }
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
    }
    env["OMP_NUM_THREADS"] = "1"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            str(free_port()),
            str(script),
            payload,
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    two = json.loads((tmp_path / "two" / "training.json").read_text())
    assert two["args"]["world_size"] == 2 and two["gradient_accumulation"] == 2
    one = train(tmp_path / "fp32", [tuple(c) for c in corpora], tmp_path / "one", mask=mask, **args)
    assert one["gradient_accumulation"] == 4
    assert two["final_loss"] == pytest.approx(one["final_loss"], rel=1e-5)
    before, got, expected = (weights(tmp_path / d) for d in ("fp32", "two", "one"))
    for name in before:
        inside = mask.get(name, torch.zeros(before[name].shape, dtype=torch.bool))
        assert torch.equal(bits(got[name])[~inside], bits(before[name])[~inside]), name
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)


def test_lora_on_two_cpu_processes_matches_one(world):
    """A LoRA run launched as on the cluster (torchrun, here 2 CPU processes joined by
    gloo) trains DDP replicas that take the same steps as one process accumulating twice as
    many micro-batches; the replicas are checked equal bit for bit before rank 0 saves."""
    tmp_path, cats, dogs = world
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    args = dict(
        lr=1e-2, total_tokens=4 * 128, batch_tokens=128, micro_batch_size=2, seed=2, lora=lora
    )
    corpora = [(cats, 0.5), (dogs, 0.5)]
    launch_training(2, tmp_path / "fp32", corpora, tmp_path / "two", device="cpu", **args)
    two = json.loads((tmp_path / "two" / "training.json").read_text())
    assert two["args"]["world_size"] == 2 and two["gradient_accumulation"] == 2
    one = train(tmp_path / "fp32", corpora, tmp_path / "one", device="cpu", **args)
    assert one["gradient_accumulation"] == 4
    assert two["final_loss"] == pytest.approx(one["final_loss"], rel=1e-5)
    before, got, expected = (weights(tmp_path / d) for d in ("fp32", "two", "one"))
    for name in before:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
        assert torch.equal(got[name], before[name]) == (
            "q_proj" not in name and "v_proj" not in name
        )


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
