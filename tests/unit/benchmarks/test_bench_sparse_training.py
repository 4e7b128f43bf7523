"""The CPU benchmark of masked CPT, dense against sparse optimizer state, on its tiny shape:
two child processes, their peak RSS and step times, the ratios and the loss comparison."""

import importlib.util
import json

import pytest
from helpers import REPO

SCRIPT = REPO / "benchmarks" / "bench_sparse_training.py"
spec = importlib.util.spec_from_file_location("bench_sparse_training", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_tiny_run_compares_dense_and_sparse(tmp_path):
    """The tiny Qwen2.5 shape has a tied embedding: the sparse run's losses equal the dense
    run's at every step, through the output projection's gradient tap."""
    out = tmp_path / "sparse_cpu.json"
    result = bench.main(["--tiny", "--steps", "2", "--warmup", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert list(result["runs"]) == ["dense", "sparse"]
    for run in result["runs"].values():
        assert len(run["step_times_s"]) == 2 and len(run["losses"]) == 3
        assert run["peak_rss_mib"] > 0 and run["build_s"] > 0
    dense, sparse = result["runs"]["dense"], result["runs"]["sparse"]
    targets = result["targets"]
    assert targets["losses_equal"] and sparse["losses"] == dense["losses"]
    assert targets["peak_rss_ratio"] == pytest.approx(
        sparse["peak_rss_mib"] / dense["peak_rss_mib"]
    )
    assert targets["step_time_ratio"] == pytest.approx(
        sparse["step_time_median_s"] / dense["step_time_median_s"]
    )
    assert "peak RSS sparse/dense" in bench.summary(result)
