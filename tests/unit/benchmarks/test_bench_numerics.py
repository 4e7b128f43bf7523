"""The numerics benchmark's tiny variant on the shared data: every stage runs, and its
numbers obey what the method promises (exact counts, fewer ties from the float32 masters,
shares in range, a float32 merge keeping γR(A))."""

import importlib.util
import json

import pytest
import torch
from helpers import REPO

torch.set_num_threads(1)

SCRIPT = REPO / "benchmarks" / "bench_numerics.py"
spec = importlib.util.spec_from_file_location("bench_numerics", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

pytestmark = pytest.mark.skipif(
    not (bench.DATA / "gsm8k" / "train.jsonl").is_file(), reason="no ../shared/data"
)


def test_tiny_benchmark(tmp_path, capsys):
    args = ["--out", str(tmp_path), "--size", "tiny", "--max-docs", "150", "--steps", "3"]
    result = bench.main([*args, "--vocab", "600", "--block", "64", "--micro-batch", "2"])
    assert json.loads((tmp_path / "bench_numerics.json").read_text()) == result
    assert not (tmp_path / "work").exists()  # checkpoints removed without --keep
    for corpus, by_inputs in result["ties"].items():
        bf16, fp32 = by_inputs["bf16"], by_inputs["fp32"]
        assert bf16["k"] == fp32["k"] == round(0.05 * bf16["eligible"])
        assert fp32["tied"] < bf16["tied"], corpus
        for t in (bf16, fp32):
            assert 0 < t["tied_kept"] <= t["tied"]
    merges = result["merges"]
    assert merges["bf16"]["entries"] == merges["float32"]["entries"] > 0
    assert merges["bf16"]["surviving_share"] < 0.99 < merges["float32"]["surviving_share"] <= 1
    assert merges["float32"]["rounded_away_share"] < 0.01 < merges["bf16"]["rounded_away_share"]
    precision = result["delta_precision"]
    for name in ("ra", "es", "r_lang"):  # the bf16 checkpoints' deltas differ, a little
        assert 0 < precision[name]["median"] <= precision[name]["max"], name
        assert 0 < precision[name]["model"] < 1, name
    assert precision["merged_entries_changed"]["entries"] > 0
    out = capsys.readouterr().out
    assert "| bf16 |" in out and "| ra |" in out
