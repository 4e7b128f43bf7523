"""The GPU training benchmark's core on a tiny model on the CPU: every run (dense and
sparse optimizer state), the FLOPs formula, the invariant check and the out-of-memory
retry."""

import importlib.util
import json
import math

import pytest
import torch
from helpers import REPO
from helpers.tiny import config
from transformers import AutoModelForCausalLM

torch.set_num_threads(1)

SCRIPT = REPO / "benchmarks" / "bench_gpu_training.py"
spec = importlib.util.spec_from_file_location("bench_gpu_training", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

# The tests' tiny shape, wider: hidden 64, MLP 128, vocabulary 512 (two layers, 4 heads, 2 KV).
WIDER = dict(vocab_size=512, hidden_size=64, intermediate_size=128)
# By hand: embedding/output 512·64 = 32768; per layer q 64·64 + k 64·32 + v 64·32 + o 64·64
# = 12288 and MLP 3·64·128 = 24576, so 36864; two layers 73728; N = 106496.
TINY_MATMUL_PARAMETERS = 106496


@pytest.mark.parametrize(
    "model_config",
    [
        config(**WIDER, tie_word_embeddings=True),
        config(**WIDER, tie_word_embeddings=False),  # lm_head counted, the lookup not
        config(**WIDER, architecture="qwen2", tie_word_embeddings=True),  # 1-D q/k/v biases
    ],
)
def test_matmul_parameters_by_hand(model_config):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(model_config)
    assert bench.matmul_parameters(model) == TINY_MATMUL_PARAMETERS


def test_flops_per_token_by_hand():
    flops = bench.model_flops_per_token(
        config(**WIDER, tie_word_embeddings=True), TINY_MATMUL_PARAMETERS, seq_len=32
    )
    # 6·106496 = 638976; 12 · 2 layers · (4 heads · 16) · 32 = 49152
    assert flops == {"dense": 638976, "attention": 49152, "total": 688128}


def test_entries_changed_counts_bits_where_selected():
    before = torch.tensor([0.0, 1.0, 2.0, 3.0])
    after = torch.tensor([-0.0, 1.0, 2.5, 3.0])  # -0.0 == 0.0 numerically, not in bits
    everywhere = torch.ones(4, dtype=torch.bool)
    assert bench.entries_changed(after, before, everywhere) == 2
    assert bench.entries_changed(after, before, torch.tensor([True, False, False, True])) == 1
    assert bench.entries_changed(after.bfloat16(), before.bfloat16(), everywhere) == 2


def test_sample_names_spans_first_and_last():
    names = [f"t{i}" for i in range(30)]
    sampled = bench.sample_names(names, 5)
    assert sampled[0] == "t0" and sampled[-1] == "t29" and len(sampled) == 5
    assert sampled == sorted(sampled, key=names.index)
    assert bench.sample_names(names[:3], 5) == names[:3]


def test_check_invariant_reports_a_change_outside_the_mask():
    model = AutoModelForCausalLM.from_config(config(**WIDER, tie_word_embeddings=True))
    mask = bench.random_mask(model, 0.05, seed=1)
    parameters = dict(model.named_parameters())
    name = "model.layers.0.mlp.up_proj.weight"
    initial = {name: parameters[name].detach().clone()}
    assert bench.check_invariant(parameters, initial, mask)["holds"]
    outside = (~mask[name]).nonzero()[0].tolist()
    with torch.no_grad():
        parameters[name][tuple(outside)] += 1.0
    report = bench.check_invariant(parameters, initial, mask)
    assert report["changed_outside"] == 1 and not report["holds"]


def test_tiny_run_on_cpu(tmp_path):
    out = tmp_path / "gpu_bench.json"
    result = bench.main(["--device", "cpu", "--tiny", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["micro_batch"] == 2 and result["seq_len"] == 32
    flops = bench.model_flops_per_token(
        bench.model_config("qwen2.5-0.5b", tiny=True), TINY_MATMUL_PARAMETERS, 32
    )
    assert list(result["runs"]) == ["unmasked", "masked", "sparse"]
    for name in ("unmasked", "masked", "sparse"):
        run = result["runs"][name]
        assert run["steps_timed"] == 3 and len(run["step_times_s"]) == 3
        assert run["matmul_parameters"] == TINY_MATMUL_PARAMETERS
        assert run["tokens_per_step"] == 2 * 32
        assert run["tokens_per_s"] == pytest.approx(64 / run["step_time_median_s"])
        assert run["mfu"] == pytest.approx(flops["total"] * 64 / run["step_time_median_s"] / 989e12)
        assert math.isfinite(run["loss_first"]) and math.isfinite(run["loss_last"])
    unmasked, masked, sparse = (result["runs"][r] for r in ("unmasked", "masked", "sparse"))
    assert unmasked["counts"]["density"] == 1.0
    for run in (masked, sparse):
        assert run["counts"]["density"] == pytest.approx(0.05, abs=0.01)
        invariant = run["invariant"]
        assert invariant["holds"] and invariant["changed_outside"] == 0
        assert invariant["entries_outside"] > 0 and invariant["changed_inside"] > 0
        assert len(invariant["tensors"]) == 12
    assert result["targets"]["masked_unmasked_step_time_ratio"] == pytest.approx(
        masked["step_time_median_s"] / unmasked["step_time_median_s"]
    )
    assert result["targets"]["sparse_unmasked_step_time_ratio"] == pytest.approx(
        sparse["step_time_median_s"] / unmasked["step_time_median_s"]
    )
    assert result["targets"]["sparse_invariant_holds"]


def test_tiny_llama_3_8b_runs_on_cpu(tmp_path):
    """The 8B configuration's runs (gradients only, sparse) and options, on a tiny LLaMA."""
    result = bench.main(
        ["--device", "cpu", "--tiny", "--model", "llama-3-8b", "--runs", "gradients", "sparse"]
        + ["--gradient-checkpointing", "--steps", "2", "--out", str(tmp_path / "b.json")]
    )
    assert result["gradient_checkpointing"] and list(result["runs"]) == ["gradients", "sparse"]
    assert result["runs"]["gradients"]["counts"]["density"] == 1.0
    assert result["runs"]["sparse"]["invariant"]["holds"]
    ratio = result["targets"]["sparse_gradients_step_time_ratio"]
    assert ratio == pytest.approx(
        result["runs"]["sparse"]["step_time_median_s"]
        / result["runs"]["gradients"]["step_time_median_s"]
    )
    assert "sparse/gradients step time" in bench.table(result)


def test_llama_3_8b_defaults():
    """One command away from a GPU: the 8B run's defaults fit one 80 GB GPU."""
    args = bench.parse_args(["--model", "llama-3-8b"])
    assert args.runs == ["gradients", "sparse"] and args.gradient_checkpointing
    assert (args.micro_batch, args.seq_len, args.steps) == (2, 4096, 300)
    config = bench.model_config("llama-3-8b", tiny=False)
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (4096, 32, 128256)


def test_out_of_memory_halves_the_micro_batch_for_both_runs(tmp_path, monkeypatch):
    real_run = bench.bench_run
    seen = []

    def run_that_fits_one_row(config, *, run, args, device):
        seen.append((run, args.micro_batch))
        if args.micro_batch > 1 and run == "masked":
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_run(config, run=run, args=args, device=device)

    monkeypatch.setattr(bench, "bench_run", run_that_fits_one_row)
    result = bench.main(
        [
            "--device",
            "cpu",
            "--tiny",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--micro-batch",
            "2",
            "--runs",
            "unmasked",
            "masked",
            "--out",
            str(tmp_path / "b.json"),
        ]
    )
    assert seen == [("unmasked", 2), ("masked", 2), ("unmasked", 1), ("masked", 1)]
    assert result["out_of_memory_at_micro_batch"] == [2] and result["micro_batch"] == 1
    assert {run["tokens_per_step"] for run in result["runs"].values()} == {32}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
def test_cuda_without_gpu_is_one_clear_error(tmp_path):
    out = tmp_path / "gpu_bench.json"
    with pytest.raises(RuntimeError, match="no CUDA GPU is visible"):
        bench.main(["--device", "cuda", "--tiny", "--out", str(out)])
    assert not out.exists()
