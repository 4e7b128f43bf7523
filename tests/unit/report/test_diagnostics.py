"""Diagnostics of R(A) and R_Lang per family and tensor type, against values by hand."""

import json
import math

import pytest
from helpers.checkpoints import write_checkpoint
from helpers.deltas import R_A, R_LANG

from maec.combination.similarity import write_similarity_table
from maec.report.diagnostics import (
    diagnostics_table,
    layer_cosines,
    read_similarity_table,
    write_diagnostics,
)


@pytest.fixture
def table(tmp_path):
    ra = write_checkpoint(tmp_path / "ra.safetensors", R_A)
    rl = write_checkpoint(tmp_path / "rl.safetensors", R_LANG)
    write_similarity_table(ra, rl, tmp_path / "s.tsv", k2=0.6)
    return tmp_path / "s.tsv"


def test_family_shares_and_cosines_by_hand(table):
    frame = diagnostics_table(read_similarity_table(table)).set_index(["family", "type"])
    mlp = frame.loc[("mlp", "all")]
    assert mlp["tensors"] == 2
    assert mlp["share_of_entries"] == pytest.approx(4 / 10)
    assert mlp["share_of_abs_R_A"] == pytest.approx(2 / 6)
    assert mlp["share_of_abs_R_Lang"] == pytest.approx(5 / 20)
    # concatenated: dot 3 + 1, |R(A)|² 1 + 1, |R_Lang|² 9 + 2
    assert mlp["cosine"] == pytest.approx(4 / math.sqrt(2 * 11))
    assert frame.loc[("embeddings", "all")]["cosine"] == 0.0  # zero R(A)
    assert frame.loc[("norms", "all")]["cosine"] == pytest.approx(-1.0)
    assert frame.loc[("mlp", "mlp_up")]["tensors"] == 2  # both mlp tensors are up_proj
    families = frame.xs("all", level="type")
    assert families["share_of_abs_R_A"].sum() == pytest.approx(1.0)
    assert families["tensors_in_T"].sum() == 3  # floor(0.6 * 5 + 0.5)


def test_layer_cosines_by_hand(table):
    layers = layer_cosines(read_similarity_table(table))
    as_dict = {(r.layer, r.family): r.cosine for r in layers.itertuples()}
    assert as_dict[(0, "mlp")] == pytest.approx(1.0)
    assert as_dict[(1, "mlp")] == pytest.approx(1 / math.sqrt(2))
    assert as_dict[(0, "attention")] == pytest.approx(0.0)
    assert set(as_dict) == {(0, "mlp"), (1, "mlp"), (0, "attention")}


def test_written_tables(table, tmp_path):
    write_diagnostics(table, tmp_path / "d.csv", tmp_path / "d.md")
    assert "share_of_abs_R_A" in (tmp_path / "d.md").read_text()


def test_not_a_similarity_table(tmp_path):
    (tmp_path / "x.tsv").write_text("tensor\tcosine\na\t1\n")
    with pytest.raises(ValueError, match="x.tsv"):
        read_similarity_table(tmp_path / "x.tsv")


def test_rounding_columns_and_sentence_by_hand(table, tmp_path):
    """The merge's rounding tallies summed per family and tensor type; T is the three
    least language-like tensors (norm, q_proj, embed_tokens), two of them with R(A) ≠ 0."""
    tallies = {
        "model.norm.weight": dict(entries=2, rounded_away=2, update_l1=0.2, surviving_l1=0.0),
        "model.layers.0.self_attn.q_proj.weight": dict(
            entries=1, rounded_away=0, update_l1=0.4, surviving_l1=0.3
        ),
        "model.embed_tokens.weight": dict(entries=0, rounded_away=0, update_l1=0, surviving_l1=0),
    }
    report = {
        "dtype": "bfloat16",
        "gamma": 0.2,
        "entries": 3,
        "rounded_away": 2,
        "rounded_away_share": 2 / 3,
        "update_l1": 0.6,
        "surviving_l1": 0.3,
        "surviving_share": 0.5,
        "tensors": tallies,
    }
    (tmp_path / "r.json").write_text(json.dumps(report))
    frame = write_diagnostics(table, tmp_path / "d.csv", tmp_path / "d.md", tmp_path / "r.json")
    frame = frame.set_index(["family", "type"])
    norms, attention = frame.loc[("norms", "all")], frame.loc[("attention", "all")]
    assert norms["R_A_entries_in_T"] == 2 and norms["share_rounded_away"] == 1.0
    assert norms["share_of_gamma_R_A_surviving"] == 0.0
    assert attention["R_A_entries_in_T"] == 1 and attention["share_rounded_away"] == 0.0
    assert attention["share_of_gamma_R_A_surviving"] == pytest.approx(0.75)
    mlp = frame.loc[("mlp", "all")]  # not in T
    assert mlp["R_A_entries_in_T"] == 0 and math.isnan(mlp["share_rounded_away"])
    text = (tmp_path / "d.md").read_text()
    assert text.startswith(
        "Merged model written in bfloat16: of the 3 entries with R(A) ≠ 0 in T, 2 (66.67 %) "
        "are rounded away"
    )
    assert "50.00 % of ‖γR(A)‖₁ in T survives" in text
