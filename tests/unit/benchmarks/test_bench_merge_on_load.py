"""The merge-on-load benchmark at a tiny shape: both ways run, the written way writes the
variant and merge on load writes nothing, and the two models are equal bit for bit."""

import importlib.util
import json

from helpers import REPO

SCRIPT = REPO / "benchmarks" / "bench_merge_on_load.py"
spec = importlib.util.spec_from_file_location("bench_merge_on_load", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_tiny_benchmark(tmp_path):
    shape = ["--layers", "1", "--hidden", "64", "--intermediate", "128", "--vocab", "256"]
    result = bench.main(["--out", str(tmp_path), *shape, "--kv-heads", "2", "--repeats", "1",
                         "--check"])  # fmt: skip
    assert json.loads((tmp_path / "bench_merge_on_load.json").read_text()) == result
    assert not (tmp_path / "merge_on_load_1").exists()  # removed without --keep
    assert result["check"]["equal"] and result["check"]["tensors"] == 12
    assert result["variant_bytes_written"] >= result["backbone_bytes"] > 0
    for way in ("written", "on_load"):
        (run,) = result[way]
        assert run["merge_s"] > 0 and run["load_s"] > 0 and run["peak_rss_mib"] > 0
