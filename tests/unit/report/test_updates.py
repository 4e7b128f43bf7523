"""Figure 5 and Table 6 from hand-made checkpoints, training logs and score files."""

import json
import math

import pandas as pd
import pytest
import torch
from helpers.checkpoints import write_checkpoint

from maec.io.format import CheckpointError
from maec.report.figures import (
    plot_training_losses,
    plot_update_layer_cosines,
    plot_update_similarity,
)
from maec.report.tables.data_stats import benchmark_statistics, corpus_statistics
from maec.report.updates import training_losses, update_similarity

BASE = {
    "model.layers.0.mlp.up_proj.weight": torch.tensor([[1.0, 1.0], [1.0, 1.0]]),
    "model.layers.1.mlp.up_proj.weight": torch.tensor([[0.0, 0.0]]),
    "model.norm.weight": torch.tensor([2.0, 2.0]),
}


def _model(tmp_path, name, updates):
    """The backbone plus `updates` (name -> update)."""
    tensors = {n: t + torch.tensor(updates[n]) for n, t in BASE.items()}
    return write_checkpoint(tmp_path / f"{name}.safetensors", tensors)


def test_update_similarity_by_hand(tmp_path):
    base = write_checkpoint(tmp_path / "base.safetensors", BASE)
    a = _model(
        tmp_path,
        "a",
        {
            "model.layers.0.mlp.up_proj.weight": [[1.0, 0.0], [0.0, 0.0]],
            "model.layers.1.mlp.up_proj.weight": [[0.0, 2.0]],
            "model.norm.weight": [3.0, 0.0],
        },
    )
    b = _model(
        tmp_path,
        "b",
        {
            "model.layers.0.mlp.up_proj.weight": [[1.0, 1.0], [0.0, 0.0]],  # cos 1/√2
            "model.layers.1.mlp.up_proj.weight": [[0.0, -2.0]],  # cos −1
            "model.norm.weight": [0.0, 4.0],  # orthogonal; outside the layers
        },
    )
    table = update_similarity(base, {"a": a, "b": b}, chunk_bytes=8).set_index("layer")
    assert list(table.index) == [0, 1, "all"]
    assert (table["first"] == "a").all() and (table["second"] == "b").all()
    assert table.loc[0, "cosine"] == pytest.approx(1 / math.sqrt(2))
    assert table.loc[0, "l1"] == pytest.approx(1 / 4)  # |a − b| = 1 in one of 4 entries
    assert table.loc[1, "cosine"] == pytest.approx(-1.0)
    assert table.loc[1, "l1"] == pytest.approx(4 / 2)
    # all: dot 1 − 4 + 0, |u_a|² 1 + 4 + 9, |u_b|² 2 + 4 + 16; |a − b| summed 1 + 4 + 7 over 8
    assert table.loc["all", "cosine"] == pytest.approx(-3 / math.sqrt(14 * 22))
    assert table.loc["all", "l1"] == pytest.approx(12 / 8)
    assert table.loc["all", "entries"] == 8


def test_an_unchanged_model_has_cosine_zero_and_three_models_three_pairs(tmp_path):
    base = write_checkpoint(tmp_path / "base.safetensors", BASE)
    same = write_checkpoint(tmp_path / "same.safetensors", BASE)
    moved = _model(tmp_path, "moved", {n: torch.ones_like(t).tolist() for n, t in BASE.items()})
    table = update_similarity(base, {"x": same, "y": moved, "z": moved})
    whole = table[table["layer"] == "all"].set_index(["first", "second"])
    assert list(whole.index) == [("x", "y"), ("x", "z"), ("y", "z")]
    assert whole.loc[("x", "y"), "cosine"] == 0.0 and whole.loc[("y", "z"), "cosine"] == 1.0
    assert whole.loc[("y", "z"), "l1"] == 0.0


def test_a_non_finite_update_names_the_model_and_tensor(tmp_path):
    base = write_checkpoint(tmp_path / "base.safetensors", BASE)
    bad = dict(BASE)
    bad["model.norm.weight"] = torch.tensor([math.nan, 2.0])
    broken = write_checkpoint(tmp_path / "broken.safetensors", bad)
    with pytest.raises(CheckpointError, match="broken.safetensors: tensor model.norm.weight"):
        update_similarity(base, {"ok": base, "broken": broken})
    with pytest.raises(ValueError, match="two or more"):
        update_similarity(base, {"ok": base})


def _run(tmp_path, name, losses):
    run = tmp_path / name
    run.mkdir()
    log = [{"step": 10 * (i + 1), "loss": loss} for i, loss in enumerate(losses)]
    (run / "training.json").write_text(json.dumps({"log": log}))
    return run


def test_figure5_draws_its_three_panels(tmp_path):
    losses = pd.concat(
        [
            training_losses({"general_en": _run(tmp_path, "m", [3.0, 2.5])}).assign(
                training="key neurons"
            ),
            training_losses({"general_en": _run(tmp_path, "f", [3.0, 2.0])}).assign(
                training="every entry"
            ),
        ]
    )
    assert losses["loss"].tolist() == [3.0, 2.5, 3.0, 2.0]
    plot_training_losses(losses, tmp_path / "a.png", tmp_path / "a.pdf")
    base = write_checkpoint(tmp_path / "base.safetensors", BASE)
    ones = {n: torch.ones_like(t).tolist() for n, t in BASE.items()}
    models = {c: _model(tmp_path, c, ones) for c in ("general_en", "general_zh", "math_en")}
    similarity = update_similarity(base, models)
    pairs = [("general_en", "general_zh"), ("general_en", "math_en")]
    plot_update_layer_cosines(similarity, pairs, tmp_path / "b.png", tmp_path / "b.pdf")
    plot_update_similarity(similarity, tmp_path / "c.png", tmp_path / "c.pdf")
    for name in ("a", "b", "c"):
        for suffix in ("png", "pdf"):
            assert (tmp_path / f"{name}.{suffix}").stat().st_size > 1000


def test_table6_counts_the_packed_tokens_and_the_scored_items(tmp_path):
    summary = tmp_path / "general_en.json"
    summary.write_text(
        json.dumps({"source": "x.jsonl", "documents": 3, "tokens_read": 70, "tokens": 64})
    )
    corpora = corpus_statistics({"general_en": summary})
    assert corpora.loc["general_en"].tolist() == ["x.jsonl", 3, 70, 64]
    scores = []
    for bench, lang, n in [("mgsm", "es", 250), ("mgsm", "bn", 250), ("mmlu", "es", 1245)]:
        scores.append(tmp_path / f"{bench}_{lang}.json")
        scores[-1].write_text(json.dumps({"bench": bench, "lang": lang, "n": n}))
    items = benchmark_statistics(scores)
    assert items.loc["mgsm", "bn"] == 250 and items.loc["mmlu", "es"] == 1245
    assert pd.isna(items.loc["mmlu", "bn"])
