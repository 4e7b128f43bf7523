"""Eq. 4 (tensor similarity and the set T) and Eq. 5 (the merge)."""

import csv
import math

import pytest
import torch
from helpers.checkpoints import listing, load_checkpoint, write_checkpoint
from helpers.deltas import R_A, R_LANG

from maec.combination.merge import merge_tensor, write_merge
from maec.combination.similarity import read_selected, tensor_similarity, write_similarity_table
from maec.io.format import CheckpointError
from maec.report.diagnostics import read_similarity_table
from maec.report.tables.tensor_types import share_of_t


def test_cosine_by_hand():
    assert tensor_similarity(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])) == pytest.approx(
        1 / math.sqrt(2)
    )
    assert tensor_similarity(
        torch.tensor([[1.0, 2.0]]), torch.tensor([[-2.0, -4.0]])
    ) == pytest.approx(-1.0)
    assert tensor_similarity(torch.tensor([3.0, 4.0]), torch.tensor([4.0, -3.0])) == 0.0
    assert tensor_similarity(torch.zeros(3), torch.tensor([1.0, 2.0, 3.0])) == 0.0
    assert tensor_similarity(torch.zeros(3), torch.zeros(3)) == 0.0
    # float64 accumulation: a float32 sum of these squares would lose the small entries.
    big = torch.tensor([1e20, 1.0, 1.0], dtype=torch.float32)
    assert tensor_similarity(big, big) == 1.0


def _table(tmp_path, k2, shards=1):
    ra = write_checkpoint(tmp_path / "ra", R_A, shards=shards)
    rl = write_checkpoint(tmp_path / "rl.safetensors", R_LANG)
    write_similarity_table(ra, rl, tmp_path / "s.tsv", k2=k2, chunk_bytes=4)
    with open(tmp_path / "s.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_similarity_table_ranks_and_selects_least_language_like(tmp_path):
    rows = _table(tmp_path, k2=0.5, shards=2)  # 5 tensors: floor(2.5 + 0.5) = 3 selected
    assert list(rows[0]) == [
        "tensor",
        "shape",
        "type",
        "layer",
        "numel",
        "cosine",
        "rank",
        "selected",
        "abs_sum_ra",
        "abs_sum_rlang",
        "dot",
        "sq_norm_ra",
        "sq_norm_rlang",
    ]
    order = [r["tensor"] for r in rows]
    # cosine 0 ties are ranked by name
    assert order == [
        "model.layers.0.mlp.up_proj.weight",
        "model.layers.1.mlp.up_proj.weight",
        "model.embed_tokens.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "model.norm.weight",
    ]
    assert [float(r["cosine"]) for r in rows] == pytest.approx(
        [1.0, 1 / math.sqrt(2), 0.0, 0.0, -1.0]
    )
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r["selected"] for r in rows] == ["0", "0", "1", "1", "1"]
    assert rows[1]["layer"] == "1" and rows[2]["layer"] == "" and rows[1]["type"] == "mlp_up"
    assert rows[0]["shape"] == "[1,2]" and rows[0]["numel"] == "2"
    assert float(rows[2]["abs_sum_ra"]) == 0.0 and float(rows[2]["abs_sum_rlang"]) == 10.0
    # layer 1 up_proj: R(A) = [1, 0], R_Lang = [1, 1]
    assert [float(rows[1][c]) for c in ("dot", "sq_norm_ra", "sq_norm_rlang")] == [1.0, 1.0, 2.0]
    # norm: R(A) = [1, 1], R_Lang = [-2, -2]
    assert [float(rows[4][c]) for c in ("dot", "sq_norm_ra", "sq_norm_rlang")] == [-4.0, 2.0, 8.0]
    assert read_selected(tmp_path / "s.tsv") == set(order[2:])


def test_k2_bounds(tmp_path):
    _table(tmp_path, k2=0)
    assert read_selected(tmp_path / "s.tsv") == set()
    _table(tmp_path, k2=1)
    assert read_selected(tmp_path / "s.tsv") == set(R_A)
    for bad in (-0.1, 1.01):
        with pytest.raises(ValueError, match=f"k2={bad}"):
            _table(tmp_path / str(bad), k2=bad)
        assert not (tmp_path / str(bad) / "s.tsv").exists()


def test_similarity_rejects_nan(tmp_path):
    ra = write_checkpoint(
        tmp_path / "ra.safetensors",
        dict(R_A, **{"model.norm.weight": torch.tensor([1.0, math.nan])}),
    )
    rl = write_checkpoint(tmp_path / "rl.safetensors", R_LANG)
    with pytest.raises(
        CheckpointError, match="ra.safetensors: tensor model.norm.weight: NaN or Inf"
    ):
        write_similarity_table(ra, rl, tmp_path / "s.tsv", k2=0.5)
    assert not (tmp_path / "s.tsv").exists()


BACKBONE = {"t": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "u": torch.tensor([1.0, -1.0])}
DELTA_A = {"t": torch.tensor([[10.0, 0.0], [-5.0, 20.0]]), "u": torch.tensor([100.0, 100.0])}
DELTA_L = {"t": torch.tensor([[0.5, 1.0], [0.0, -2.0]]), "u": torch.tensor([0.25, 0.5])}


def test_merge_tensor_by_hand():
    base = torch.tensor([1.0, 2.0]).bfloat16()
    r_a, r_lang = torch.tensor([10.0, -5.0]), torch.tensor([0.5, 1.0])
    assert torch.equal(
        merge_tensor(base, r_a, r_lang, True, 0.2, 1.5), torch.tensor([3.75, 2.5]).bfloat16()
    )
    assert torch.equal(
        merge_tensor(base, r_a, r_lang, False, 0.2, 1.5), torch.tensor([1.5, 3.0]).bfloat16()
    )
    assert torch.equal(
        merge_tensor(base, r_a, None, True, 0.2, 1.5), torch.tensor([3.0, 1.0]).bfloat16()
    )


@pytest.mark.parametrize("max_shard_bytes", [None, 8])
def test_merge_by_hand(tmp_path, max_shard_bytes):
    base = write_checkpoint(
        tmp_path / "base", {k: v.bfloat16() for k, v in BACKBONE.items()}, shards=2
    )
    ra = write_checkpoint(tmp_path / "ra.safetensors", DELTA_A)
    rl = write_checkpoint(tmp_path / "rl.safetensors", DELTA_L)
    write_merge(
        base,
        ra,
        rl,
        {"t"},
        tmp_path / "merged",
        gamma=0.2,
        eta=1.5,
        max_shard_bytes=max_shard_bytes,
        chunk_bytes=8,
    )
    out = load_checkpoint(tmp_path / "merged")
    assert out["t"].dtype == torch.bfloat16
    # t in T: base + 0.2 R(A) + 1.5 R_Lang;  u not in T: base + R_Lang (γ, η not applied)
    assert torch.equal(
        out["t"], torch.tensor([[1 + 2 + 0.75, 2 + 0 + 1.5], [3 - 1 + 0, 4 + 4 - 3]]).bfloat16()
    )
    assert torch.equal(out["u"], torch.tensor([1.25, -0.5]).bfloat16())
    write_merge(base, ra, None, {"t", "u"}, tmp_path / "no_lang.safetensors", gamma=0.2, eta=1.5)
    out = load_checkpoint(tmp_path / "no_lang.safetensors")
    assert torch.equal(out["u"], torch.tensor([21.0, 19.0]).bfloat16())


def test_merge_bad_input_leaves_nothing(tmp_path):
    base = write_checkpoint(tmp_path / "in" / "base.safetensors", BACKBONE)
    ra = write_checkpoint(tmp_path / "in" / "ra.safetensors", DELTA_A)
    bad = write_checkpoint(
        tmp_path / "in" / "rl.safetensors", dict(DELTA_L, u=torch.tensor([0.0, math.nan]))
    )
    with pytest.raises(CheckpointError, match=r"rl.safetensors: tensor u \(R_Lang\): NaN or Inf"):
        write_merge(base, ra, bad, {"t"}, tmp_path / "out" / "m.safetensors", gamma=0.2, eta=1.0)
    with pytest.raises(CheckpointError, match="selected tensor nope is not in the backbone"):
        write_merge(
            base, ra, None, {"nope"}, tmp_path / "out" / "m.safetensors", gamma=0.2, eta=1.0
        )
    short = write_checkpoint(tmp_path / "in" / "short.safetensors", {"t": DELTA_A["t"]})
    with pytest.raises(CheckpointError, match="differ in tensor names: u is only in"):
        write_merge(
            base, short, None, {"t"}, tmp_path / "out" / "m.safetensors", gamma=0.2, eta=1.0
        )
    overflow = write_checkpoint(
        tmp_path / "in" / "huge.safetensors", dict(DELTA_A, u=torch.tensor([3e38, 0.0]))
    )
    with pytest.raises(CheckpointError, match=r"m.safetensors: tensor u \(result\): NaN or Inf"):
        write_merge(
            base, overflow, overflow, {"u"}, tmp_path / "out" / "m.safetensors", gamma=1.0, eta=1.0
        )
    assert not (tmp_path / "out").exists() or listing(tmp_path / "out") == []


def test_tensor_type_selection_ignores_the_ranking(tmp_path):
    ra = write_checkpoint(tmp_path / "ra.safetensors", R_A)
    rl = write_checkpoint(tmp_path / "rl.safetensors", R_LANG)
    write_similarity_table(ra, rl, tmp_path / "t.tsv", k2=0.0, types=["mlp_up", "norm"])
    assert read_selected(tmp_path / "t.tsv") == {
        "model.layers.0.mlp.up_proj.weight",
        "model.layers.1.mlp.up_proj.weight",
        "model.norm.weight",
    }


def test_task_vector_merge_by_hand(tmp_path):
    from maec.merge_methods.task_arithmetic import write_task_vector_merge

    base = {"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "b": torch.tensor([0.5, -0.5])}
    first = {"w": torch.tensor([[2.0, 2.0], [3.0, 0.0]]), "b": torch.tensor([0.5, 1.5])}
    second = {"w": torch.tensor([[1.0, 6.0], [1.0, 4.0]]), "b": torch.tensor([-1.5, -0.5])}
    paths = [
        write_checkpoint(tmp_path / f"{i}.safetensors", t)
        for i, t in enumerate([base, first, second])
    ]
    write_task_vector_merge(
        paths[0], paths[1:], tmp_path / "tv.safetensors", scale=0.5, chunk_bytes=8
    )
    out = load_checkpoint(tmp_path / "tv.safetensors")
    # base + 0.5 * ((first - base) + (second - base))
    assert torch.equal(out["w"], torch.tensor([[1.5, 4.0], [2.0, 2.0]]))
    assert torch.equal(out["b"], torch.tensor([-0.5, 0.5]))


def test_within_keeps_only_the_tensors_of_t_of_those_types(tmp_path):
    ra = write_checkpoint(tmp_path / "ra.safetensors", R_A)
    rl = write_checkpoint(tmp_path / "rl.safetensors", R_LANG)
    # Ranks by cosine: up_proj.0 (1), up_proj.1 (0.71), embed_tokens (0), q_proj (0), norm (-1);
    # k2 = 0.6 gives T = the last 3: embed_tokens, q_proj, norm.
    write_similarity_table(ra, rl, tmp_path / "t.tsv", k2=0.6)
    assert read_selected(tmp_path / "t.tsv") == {
        "model.embed_tokens.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "model.norm.weight",
    }
    write_similarity_table(ra, rl, tmp_path / "w.tsv", k2=0.6, within=["attention_q", "mlp_up"])
    assert read_selected(tmp_path / "w.tsv") == {"model.layers.0.self_attn.q_proj.weight"}
    # a group that selects nothing would be a row of R_Lang alone passing for a Table 8 row
    with pytest.raises(ValueError, match=r"\['mlp_up'\] select nothing of the tensors of T"):
        write_similarity_table(ra, rl, tmp_path / "n.tsv", k2=0.6, within=["mlp_up"])
    with pytest.raises(ValueError, match=r"\['mlp_down'\] select nothing of every tensor"):
        write_similarity_table(ra, rl, tmp_path / "n.tsv", k2=0.6, types=["mlp_down"])
    assert not (tmp_path / "n.tsv").exists()
    with pytest.raises(ValueError, match="not both"):
        write_similarity_table(ra, rl, tmp_path / "b.tsv", k2=0.6, types=["norm"], within=["norm"])
    assert not (tmp_path / "b.tsv").exists()


def test_table8_on_a_phi3_backbone_counts_the_fused_tensors_under_their_own_types(tmp_path):
    shapes = {
        "model.embed_tokens.weight": (8, 4),
        "model.layers.0.self_attn.qkv_proj.weight": (12, 4),
        "model.layers.0.self_attn.o_proj.weight": (4, 4),
        "model.layers.0.mlp.gate_up_proj.weight": (16, 4),
        "model.layers.0.mlp.down_proj.weight": (4, 8),
        "model.layers.0.input_layernorm.weight": (4,),
        "model.norm.weight": (4,),
        "lm_head.weight": (8, 4),
    }
    generator = torch.Generator().manual_seed(0)
    r_a = {n: torch.randn(s, generator=generator) for n, s in shapes.items()}
    r_lang = {n: torch.randn(s, generator=generator) for n, s in shapes.items()}
    ra = write_checkpoint(tmp_path / "ra.safetensors", r_a)
    rl = write_checkpoint(tmp_path / "rl.safetensors", r_lang)
    write_similarity_table(ra, rl, tmp_path / "t.tsv", k2=1.0)
    similarity = read_similarity_table(tmp_path / "t.tsv")
    types = dict(zip(similarity["tensor"], similarity["type"]))
    assert types["model.layers.0.self_attn.qkv_proj.weight"] == "attention_qkv"
    assert types["model.layers.0.mlp.gate_up_proj.weight"] == "mlp_gate_up"
    groups = {"attention": ["attention_qkv", "attention_o"], "mlp_gate_up": ["mlp_gate_up"]}
    assert share_of_t(similarity, groups) == {"attention": 25.0, "mlp_gate_up": 12.5}
