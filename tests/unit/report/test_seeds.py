"""Tables over several training seeds (maec.report.tables.seeds) and the per-layer cosines over
seeds, against values by hand; one seed gives exactly the one-seed tables."""

import math

import pandas as pd
import pytest
from helpers.scores import write_model

from maec.report.diagnostics import layer_cosines_over_seeds
from maec.report.stats import accuracy_interval, mcnemar
from maec.report.tables import interval_frame, paired_frame, with_intervals
from maec.report.tables.intervals import correctness_from_files
from maec.report.tables.markdown import paired_table
from maec.report.tables.seeds import (
    group_by_seed,
    mean_correctness,
    uncertainty_tables,
)

LABELS = {"backbone": "Backbone", "maec_math": "MAEC"}
BOOTSTRAP = dict(resamples=200, seed=0, level=0.95)


@pytest.fixture
def two_seeds(tmp_path):
    """The backbone scored once; MAEC once per seed (seed 0 under s0/, seed 1 under s1/)."""
    first = [
        write_model(tmp_path / "s0", "backbone", "es", [1, 0, 0, 0]),
        write_model(tmp_path / "s0", "backbone", "bn", [0, 0, 1, 1]),
        write_model(tmp_path / "s0", "maec_math", "es", [1, 1, 0, 0]),  # 50
        write_model(tmp_path / "s0", "maec_math", "bn", [1, 1, 1, 1]),  # 100: Avg 75
    ]
    second = [
        write_model(tmp_path / "s1", "maec_math", "es", [1, 0, 0, 0]),  # 25
        write_model(tmp_path / "s1", "maec_math", "bn", [0, 1, 1, 1]),  # 75: Avg 50
    ]
    return {0: [str(p) for p in first], 1: [str(p) for p in second]}


def test_scores_are_grouped_by_their_seed():
    assert group_by_seed(["a", "b", "c"], [0, 1, 0]) == {0: ["a", "c"], 1: ["b"]}
    with pytest.raises(ValueError, match="3 score files but 2 seeds"):
        group_by_seed(["a", "b", "c"], [0, 1])


def test_each_questions_correctness_is_averaged_over_the_seeds(two_seeds):
    by_seed = {s: correctness_from_files(p, LABELS) for s, p in two_seeds.items()}
    means = mean_correctness(by_seed)
    es = means[("MAEC", "mgsm", "es")]
    assert [es[f"es.tsv:{i}"] for i in range(4)] == [1.0, 0.5, 0.0, 0.0]
    assert means[("Backbone", "mgsm", "es")]["es.tsv:0"] == 1.0  # scored once


def test_intervals_take_a_mean_over_seeds_but_mcnemar_only_0_or_1():
    interval = accuracy_interval([1.0, 0.5, 0.0, 0.0], resamples=200)
    assert interval.estimate == pytest.approx(0.375)
    assert 0 <= interval.low <= 0.375 <= interval.high <= 1
    with pytest.raises(ValueError, match="0 or 1"):
        accuracy_interval([1.5])
    with pytest.raises(ValueError, match="0 or 1"):
        mcnemar([0.5], [1])


def test_two_seeds_give_the_mean_its_interval_and_the_spread(two_seeds):
    tables = uncertainty_tables(two_seeds, LABELS, "Backbone", **BOOTSTRAP)
    means = {(s["model"], s["lang"]): s["flexible_acc"] for s in tables.scores}
    assert means[("MAEC", "es")] == pytest.approx(0.375)  # (50 + 25) / 2
    assert means[("MAEC", "bn")] == pytest.approx(0.875)
    assert means[("Backbone", "es")] == pytest.approx(0.25)
    intervals = tables.intervals.set_index(["model", "lang"])
    avg = intervals.loc[("MAEC", "avg")]
    assert avg["estimate"] == pytest.approx(62.5)  # mean of the seeds' Avg 75 and 50
    assert avg["seeds"] == 2 and (avg["min"], avg["max"]) == (50.0, 75.0)
    assert avg["sd"] == pytest.approx(25 / math.sqrt(2))  # |75 - 50| / sqrt(2)
    assert avg["low"] <= 62.5 <= avg["high"]
    backbone = intervals.loc[("Backbone", "avg")]
    assert backbone["seeds"] == 1 and math.isnan(backbone["sd"])
    paired = tables.paired.set_index(["first", "second"]).loc[("MAEC", "Backbone")]
    assert paired["difference"] == pytest.approx(62.5 - 37.5)  # backbone Avg (25 + 50) / 2
    # per seed: 75 - 37.5 and 50 - 37.5 (the backbone counts in both seeds)
    assert (paired["min"], paired["max"]) == (12.5, 37.5)
    assert paired["sd"] == pytest.approx(25 / math.sqrt(2))
    assert sorted(tables.mcnemar["seed"].unique()) == [0, 1]
    assert len(tables.mcnemar) == 4  # two languages, two seeds
    per_seed = {(s["model"], s["seed"], s["lang"]) for s in tables.seed_scores}
    assert ("MAEC", 1, "es") in per_seed and ("Backbone", 1, "es") not in per_seed
    seed_intervals = tables.seed_intervals.set_index(["model", "seed", "lang"])
    assert seed_intervals.loc[("MAEC", 1, "avg"), "estimate"] == pytest.approx(50.0)


def test_one_seed_gives_the_one_seed_tables(two_seeds):
    paths = two_seeds[0]
    tables = uncertainty_tables({0: paths}, LABELS, "Backbone", **BOOTSTRAP)
    cells = correctness_from_files(paths, LABELS)
    pd.testing.assert_frame_equal(tables.intervals, interval_frame(cells, **BOOTSTRAP))
    expected = paired_frame(cells, [("MAEC", "Backbone")], **BOOTSTRAP)
    pd.testing.assert_frame_equal(tables.paired, expected)
    assert "seed" not in tables.mcnemar and all("seed" not in s for s in tables.seed_scores)


def test_markdown_prints_the_spread_beside_the_interval():
    frame = pd.DataFrame({"Math ES": [47.6, 50.0]}, index=["Backbone", "MAEC"])
    intervals = pd.DataFrame(
        [
            dict(model="MAEC", column="Math ES", low=47.1, high=52.9, sd=1.25),
            dict(model="Backbone", column="Math ES", low=45.0, high=50.0, sd=math.nan),
        ]
    )
    shown = with_intervals(frame, intervals)
    assert shown.loc["MAEC", "Math ES"] == "50.0 ± 2.9 (sd 1.2)"
    assert shown.loc["Backbone", "Math ES"] == "47.6 ± 2.5"
    paired = pd.DataFrame(
        [
            dict(
                first="MAEC",
                second="Backbone",
                column="Math Avg (ES)",
                difference=2.4,
                low=-0.5,
                high=5.25,
                significant=False,
                sd=0.71,
            )
        ]
    )
    assert "| +2.4 [-0.5, 5.2] (sd 0.7) n.s. |" in paired_table(paired)


def test_layer_cosines_over_seeds_by_hand():
    def similarity(dot):  # one MLP tensor in layer 0: cosine dot / (1 * 1)
        return pd.DataFrame(
            [dict(layer=0, family="mlp", dot=dot, sq_norm_ra=1.0, sq_norm_rlang=1.0)]
        )

    one = layer_cosines_over_seeds([similarity(0.2)])
    assert list(one.columns) == ["layer", "family", "cosine"]  # one seed: as before
    three = layer_cosines_over_seeds([similarity(d) for d in (0.2, 0.4, 0.9)]).iloc[0]
    assert three["cosine"] == pytest.approx(0.5)
    assert (three["min"], three["max"], three["seeds"]) == (0.2, 0.9, 3)
    assert three["sd"] == pytest.approx(math.sqrt(((0.3**2) + (0.1**2) + (0.4**2)) / 2))
