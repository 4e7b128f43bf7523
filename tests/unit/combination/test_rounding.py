"""How much of γR(A) survives rounding the merge: a hand-built case, merge.dtype, the report."""

import json

import pytest
import torch
from helpers.checkpoints import load_checkpoint, write_checkpoint
from helpers.tiny import llama, save_word_tokenizer
from transformers import AutoModelForCausalLM

from maec.combination.merge import write_merge
from maec.combination.rounding import RoundingTally, read_rounding_report, rounding_tally
from maec.io.hf_dir import write_hf_directory

# bf16 spacing: 2^-8 in [0.5, 1), 2^-7 in [1, 2), 2^-6 in [2, 4). γ = 0.5, η = 1.
BASE = torch.tensor([1.0, 1.0, 1.0, 2.0, 2.0, 3.0])
R_A = torch.tensor([0.004, 0.04, -0.01, 0.02, 0.01, 0.0])
R_LANG = torch.tensor([0.0, 0.0, 0.0, 0.01, 0.005, 0.5])
GAMMA = 0.5
# entry: γR(A), merge m, without R(A) m0, bf16 q(m) and q(m0), surviving part s
#  0: 0.002   1.002  1.0    1.0        1.0        0        (under half an ulp: rounded away)
#  1: 0.02    1.02   1.0    1.0234375  1.0        0.02     (2.56 ulps -> 3, capped at 0.02)
#  2: -0.005  0.995  1.0    0.99609375 1.0        0.00390625 (one ulp of [0.5, 1), right way)
#  3: 0.01    2.02   2.01   2.015625   2.015625   0        (both round to one ulp: away)
#  4: 0.005   2.01   2.005  2.015625   2.0        0.005    (0.64 vs 0.32 ulp: capped)
#  5: R(A) = 0: not counted
UPDATE_L1 = 0.002 + 0.02 + 0.005 + 0.01 + 0.005
SURVIVING_L1 = 0.02 + 0.00390625 + 0.005


def hand_case():
    merged = BASE + GAMMA * R_A + R_LANG
    without = BASE + R_LANG
    return merged, without, GAMMA * R_A


def test_rounding_tally_by_hand():
    tally = rounding_tally(*hand_case(), torch.bfloat16)
    assert (tally.entries, tally.rounded_away) == (5, 2)
    assert tally.update_l1 == pytest.approx(UPDATE_L1, rel=1e-6)
    assert tally.surviving_l1 == pytest.approx(SURVIVING_L1, rel=1e-6)
    assert tally.rounded_away_share == 0.4
    assert tally.surviving_share == pytest.approx(SURVIVING_L1 / UPDATE_L1, rel=1e-6)
    exact = rounding_tally(*hand_case(), torch.float32)
    assert (exact.entries, exact.rounded_away) == (5, 0)
    assert exact.surviving_share == pytest.approx(1.0, abs=1e-4) and exact.surviving_share <= 1
    total = RoundingTally()
    total += tally
    total += exact
    assert (total.entries, total.rounded_away) == (10, 2)
    assert RoundingTally().surviving_share == 1.0 and RoundingTally().rounded_away_share == 0.0


@pytest.mark.parametrize("chunk_bytes", [8, 1 << 20])
def test_merge_writes_the_rounding_report(tmp_path, chunk_bytes):
    """The merge pass tallies T only, in the dtype it writes, chunking aside."""
    base = write_checkpoint(
        tmp_path / "base.safetensors",
        {"t": BASE.reshape(3, 2).bfloat16(), "u": BASE.reshape(3, 2).bfloat16()},
    )
    ra = write_checkpoint(
        tmp_path / "ra.safetensors", {"t": R_A.reshape(3, 2), "u": R_A.reshape(3, 2).clone()}
    )
    rl = write_checkpoint(
        tmp_path / "rl.safetensors", {"t": R_LANG.reshape(3, 2), "u": R_LANG.reshape(3, 2).clone()}
    )
    kwargs = dict(gamma=GAMMA, eta=1.0, chunk_bytes=chunk_bytes)
    report = write_merge(
        base,
        ra,
        rl,
        {"t"},
        tmp_path / "m.safetensors",
        rounding_report=tmp_path / "r.json",
        **kwargs,
    )
    assert report == read_rounding_report(tmp_path / "r.json")
    assert set(report["tensors"]) == {"t"} and report["dtype"] == "bfloat16"
    assert (report["entries"], report["rounded_away"]) == (5, 2)
    assert report["surviving_share"] == pytest.approx(SURVIVING_L1 / UPDATE_L1, rel=1e-6)
    merged = load_checkpoint(tmp_path / "m.safetensors")["t"].reshape(-1)
    assert merged.tolist() == [1.0, 1.0234375, 0.99609375, 2.015625, 2.015625, 3.5]
    wide = write_merge(
        base,
        ra,
        rl,
        {"t"},
        tmp_path / "wide.safetensors",
        dtype="float32",
        rounding_report=tmp_path / "wide.json",
        **kwargs,
    )
    out = load_checkpoint(tmp_path / "wide.safetensors")
    assert out["t"].dtype == out["u"].dtype == torch.float32
    assert torch.equal(out["t"].reshape(-1), BASE + GAMMA * R_A + R_LANG)
    assert wide["dtype"] == "float32" and wide["rounded_away"] == 0
    assert wide["surviving_share"] == pytest.approx(1.0, abs=1e-4)
    assert write_merge(base, ra, rl, {"t"}, tmp_path / "plain.safetensors", **kwargs) is None


def test_float32_merge_of_a_bf16_backbone_loads_as_float32(tmp_path):
    model = llama(12, dtype=torch.bfloat16)
    model.save_pretrained(tmp_path / "backbone")
    save_word_tokenizer(tmp_path / "backbone")
    weights = load_checkpoint(tmp_path / "backbone")
    zero = {n: torch.zeros(t.shape) for n, t in weights.items()}
    delta = write_checkpoint(tmp_path / "zero.safetensors", zero)
    write_merge(
        tmp_path / "backbone",
        delta,
        None,
        set(),
        tmp_path / "m.safetensors",
        gamma=0.2,
        eta=1.0,
        dtype="float32",
    )
    write_hf_directory(tmp_path / "m.safetensors", tmp_path / "backbone", tmp_path / "m.hf")
    config = json.loads((tmp_path / "m.hf" / "config.json").read_text())
    assert config["dtype"] == "float32"
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "m.hf", dtype="auto")
    assert loaded.dtype == torch.float32
    write_merge(
        tmp_path / "backbone", delta, None, set(), tmp_path / "b.safetensors", gamma=0.2, eta=1.0
    )
    write_hf_directory(tmp_path / "b.safetensors", tmp_path / "backbone", tmp_path / "b.hf")
    assert (tmp_path / "b.hf" / "config.json").read_bytes() == (
        tmp_path / "backbone" / "config.json"
    ).read_bytes()


@pytest.mark.reliability
@pytest.mark.parametrize(
    "gamma, eta, named", [(float("nan"), 1.0, "gamma"), (0.2, float("inf"), "eta")]
)
def test_a_non_finite_coefficient_is_named_and_the_deltas_are_not_blamed(
    tmp_path, gamma, eta, named
):
    tensors = {"w": torch.ones(4, 4)}
    for name in ("base", "r_a", "r_lang"):
        write_checkpoint(tmp_path / f"{name}.safetensors", tensors)
    before = (tmp_path / "r_a.safetensors").read_bytes()
    out = tmp_path / "merged.safetensors"
    with pytest.raises(ValueError, match=rf"^merge coefficient {named} is (nan|inf)"):
        write_merge(
            tmp_path / "base.safetensors",
            tmp_path / "r_a.safetensors",
            tmp_path / "r_lang.safetensors",
            ["w"],
            out,
            gamma=gamma,
            eta=eta,
            rounding_report=tmp_path / "rounding.json",
        )
    assert not out.exists() and (tmp_path / "r_a.safetensors").read_bytes() == before
