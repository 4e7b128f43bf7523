"""The translation benchmark's tiny variant on the shared data: the rule's own code runs,
the token cap holds, and the extrapolation follows from what was measured."""

import importlib.util
import json

import pytest
import torch
from helpers import REPO

torch.set_num_threads(1)

SCRIPT = REPO / "benchmarks" / "bench_translation.py"
spec = importlib.util.spec_from_file_location("bench_translation", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

pytestmark = pytest.mark.skipif(
    not (bench.DATA / "gsm8k" / "train.jsonl").is_file(), reason="no ../shared/data"
)


def test_tiny_benchmark(tmp_path, capsys):
    args = ["--out", str(tmp_path), "--shape", "tiny", "--tokens", "300", "--max-length", "16"]
    result = bench.main([*args, "--batch-size", "4"])
    assert json.loads((tmp_path / "bench_translation.json").read_text()) == result
    assert not (tmp_path / "work").exists()
    assert result["documents"] >= 1 and 0 < result["source_tokens"] <= 300
    assert result["parameters"] > 0 and result["seconds"] > 0
    per_token = result["seconds"] / result["source_tokens"]
    assert result["seconds_per_source_token"] == pytest.approx(per_token)
    assert result["hours_for_configured_cap"] == pytest.approx(
        per_token * bench.CONFIGURED_CAP / 3600
    )
    assert "ms per source token" in capsys.readouterr().out
