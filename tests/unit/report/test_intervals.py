"""The tables' intervals from hand-made per-example records (maec.report.tables.intervals)."""

import json

import pandas as pd
import pytest
from helpers.scores import write_model

from maec.report.tables import (
    comparison_pairs,
    correctness_from_files,
    interval_frame,
    mcnemar_frame,
    paired_frame,
    paired_table,
    with_intervals,
    write_results_table,
    write_scores_long,
)


@pytest.fixture
def two_models(tmp_path):
    paths = [
        write_model(tmp_path, "backbone", "es", [1, 0, 0, 0]),
        write_model(tmp_path, "backbone", "bn", [0, 0, 1, 1]),
        write_model(tmp_path, "maec_math", "es", [1, 1, 0, 0]),
        write_model(tmp_path, "maec_math", "bn", [0, 0, 1, 1]),
    ]
    return paths, {"backbone": "Backbone", "maec_math": "MAEC"}


def test_correctness_is_read_by_question_and_checked_against_the_score(two_models, tmp_path):
    paths, labels = two_models
    cells = correctness_from_files(paths, labels)
    assert cells[("MAEC", "mgsm", "es")] == {
        "es.tsv:0": True,
        "es.tsv:1": True,
        "es.tsv:2": False,
        "es.tsv:3": False,
    }
    bad = write_model(tmp_path / "x", "m", "es", [1, 0])
    bad.write_text(json.dumps({"bench": "mgsm", "lang": "es", "n": 2, "flexible_acc": 1.0}))
    with pytest.raises(ValueError, match=r"m/mgsm_es.jsonl: 2 records with flexible_acc 0.5000"):
        correctness_from_files([bad], {})
    bad.with_suffix(".jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=r"mgsm_es.jsonl: the per-example records"):
        correctness_from_files([bad], {})


def test_interval_rows_name_the_table_columns_and_hold_the_estimates(two_models):
    cells = correctness_from_files(*two_models)
    frame = interval_frame(cells, resamples=200).set_index(["model", "column"])
    assert frame.loc[("Backbone", "Math ES"), "estimate"] == 25.0
    assert frame.loc[("MAEC", "Math Avg (ES+BN)"), "estimate"] == 50.0
    assert frame.loc[("MAEC", "Math Avg (ES+BN)"), "lang"] == "avg"
    assert (frame["low"] <= frame["estimate"]).all() and (frame["estimate"] <= frame["high"]).all()
    only_es = interval_frame(cells, {"mgsm": ["es"]}, resamples=200)
    assert "Math Avg (ES)" in set(only_es["column"])


def test_paired_difference_and_mcnemar_of_two_models(two_models):
    cells = correctness_from_files(*two_models)
    pairs = comparison_pairs(["Backbone", "MAEC"], "Backbone")
    assert pairs == [("MAEC", "Backbone")]
    paired = paired_frame(cells, pairs, resamples=500)
    row = paired.iloc[0]
    # MAEC gains one question of four in es, none in bn: (25 + 0) / 2 = 12.5 points
    assert row["difference"] == pytest.approx(12.5)
    assert row["low"] == 0.0 and not row["significant"]  # a draw without that question
    tests = mcnemar_frame(cells, pairs).set_index("lang")
    assert tests.loc["es", ["only_first", "only_second"]].tolist() == [1, 0]
    assert tests.loc["es", "p_value"] == 1.0  # 2 * C(1,0) / 2 -> 1
    assert tests.loc["bn", "p_value"] == 1.0


def test_focus_row_is_compared_with_every_other_row():
    pairs = comparison_pairs(["Backbone", "F-CPT_A", "MAEC"], "Backbone", focus="MAEC")
    assert pairs == [("F-CPT_A", "Backbone"), ("MAEC", "Backbone"), ("MAEC", "F-CPT_A")]


def test_different_question_sets_are_refused(tmp_path):
    paths = [
        write_model(tmp_path, "backbone", "es", [1, 0, 0]),
        write_model(tmp_path, "maec_math", "es", [1, 0]),
    ]
    cells = correctness_from_files(paths, {})
    with pytest.raises(ValueError, match=r"'maec_math' and 'backbone', mgsm es: .*es.tsv:2"):
        paired_frame(cells, [("maec_math", "backbone")])


def test_markdown_shows_plus_minus_half_width_and_marks_not_significant():
    frame = pd.DataFrame({"Math ES": [47.6, 50.0]}, index=["Backbone", "MAEC"])
    intervals = pd.DataFrame([dict(model="MAEC", column="Math ES", low=47.1, high=52.9)])
    shown = with_intervals(frame, intervals)
    assert shown.loc["MAEC", "Math ES"] == "50.0 ± 2.9"
    assert shown.loc["Backbone", "Math ES"] == 47.6
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
            )
        ]
    )
    text = paired_table(paired)
    assert "| MAEC − Backbone | +2.4 [-0.5, 5.2] n.s. |" in text
    assert "Δ Math Avg (ES)" in text


def test_results_table_and_scores_csv_carry_the_intervals(two_models, tmp_path):
    paths, labels = two_models
    from maec.report.tables import scores_from_files

    scores = scores_from_files(paths, labels)
    cells = correctness_from_files(paths, labels)
    intervals = interval_frame(cells, resamples=100)
    paired = paired_frame(cells, [("MAEC", "Backbone")], resamples=100)
    out = tmp_path / "out"
    out.mkdir()
    write_results_table(
        scores,
        {},
        out / "r.csv",
        out / "r.md",
        backbone="Backbone",
        intervals=intervals,
        paired=paired,
        uncertainty_note="NOTE",
    )
    text = (out / "r.md").read_text()
    assert "| MAEC | - | 50.0 ± " in text and "MAEC − Backbone" in text and "NOTE" in text
    assert pd.read_csv(out / "r.csv", index_col=0).loc["MAEC", "Math ES"] == 50.0
    long = write_scores_long(scores, out / "scores.csv", intervals).set_index(["model", "lang"])
    es = intervals.set_index(["model", "lang"]).loc[("MAEC", "es")]
    assert long.loc[("MAEC", "es"), "ci_low"] == pytest.approx(es["low"] / 100)
    assert long.loc[("MAEC", "es"), "ci_high"] == pytest.approx(es["high"] / 100)


def test_figures_draw_the_intervals_of_the_averages(tmp_path):
    from maec.report.figures import average_bounds, plot_against_k2, plot_grouped_bars

    frame = pd.DataFrame({"Math ES": [40.0, 50.0], "Math Avg (ES)": [40.0, 50.0]}, index=[0.1, 0.5])
    intervals = pd.DataFrame(
        [
            dict(model=0.5, column="Math Avg (ES)", low=45.0, high=56.0),
            dict(model=0.1, column="Math Avg (ES)", low=33.0, high=47.0),
            dict(model=0.1, column="Math ES", low=0.0, high=100.0),
        ]
    )
    assert average_bounds(frame, "Math", intervals) == ([33.0, 45.0], [47.0, 56.0])
    assert average_bounds(frame, "Math", None) is None
    plot_against_k2(frame, "Math", "k2", tmp_path / "k2.png", tmp_path / "k2.pdf", intervals)
    plot_grouped_bars(frame, "Math", "bars", tmp_path / "b.png", tmp_path / "b.pdf", intervals)
    assert all((tmp_path / f).stat().st_size > 0 for f in ("k2.png", "k2.pdf", "b.png", "b.pdf"))
    with pytest.raises(ValueError, match=r"no interval of Math Avg \(ES\) for rows \[0.5\]"):
        average_bounds(frame, "Math", intervals.iloc[1:])


def test_settings_within_the_chosen_settings_interval():
    from maec.report.tables import within_interval

    averages = {"a": 0.50, "b": 0.47, "c": 0.40, "d": 0.53}
    assert within_interval(averages, "d", 0.46, 0.60) == {"a": 0.50, "b": 0.47}
    assert within_interval(averages, "d", 0.52, 0.54) == {}
