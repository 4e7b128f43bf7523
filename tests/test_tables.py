"""The results table (paper Table 2 layout) and ICER."""

import json
import math

import pandas as pd
import pytest

from maec.tables import icer, markdown_table, results_frame, select_variant, write_results_table

# (method, training tokens in billions, math Avg, math ICER, science Avg, science ICER) from
# the paper's Table 2; backbone LLaMA-3 8B: math 32.5, science 40.3.
PAPER = [
    ("F-CPT_L&A", 20, 34.3, 11.1, 41.0, 28.6),
    ("L-CPT_L&A", 20, 32.4, None, 40.4, 200.0),
    ("F-CPT_A", 4, 26.8, None, 38.2, None),
    ("F-CPT_L", 8, 30.1, None, 40.0, None),
    ("L-CPT_L", 8, 32.5, None, 40.7, 20.0),
    ("F-CPT_L & DA", 12, 33.2, 17.1, 38.9, None),
    ("L-CPT_L & DA", 12, 34.0, 8.0, 40.6, 40.0),
    ("F-CPT_L&T", 20, 34.0, 13.3, 40.2, None),
    ("F-CPT_T", 20, 33.2, 28.6, 39.8, None),
    ("F-TV", 12, 22.8, None, 40.3, None),
    ("L-TV", 12, 34.0, 8.0, 40.9, 20.0),
    ("MAEC", 12, 35.7, 3.6, 41.4, 10.9),
]


def test_icer_of_method_md():
    assert icer(12, 41.4, 40.3) == pytest.approx(10.9, abs=0.05)
    assert icer(20, 41.0, 40.3) == pytest.approx(28.6, abs=0.05)
    assert icer(8, 40.7, 40.3) == pytest.approx(20.0, abs=0.05)


@pytest.mark.parametrize("method, tokens, math_avg, math_icer, science_avg, science_icer", PAPER)
def test_icer_reproduces_the_paper_table(
    method, tokens, math_avg, math_icer, science_avg, science_icer
):
    assert (icer(tokens, science_avg, 40.3) is None) == (science_icer is None)
    if science_icer is not None:
        assert icer(tokens, science_avg, 40.3) == pytest.approx(science_icer, abs=0.05)
    assert (icer(tokens, math_avg, 32.5) is None) == (math_icer is None)
    if method == "MAEC":
        # The paper prints 3.6; its own numbers give 12 / (35.7 - 32.5) = 3.75.
        assert icer(tokens, math_avg, 32.5) == pytest.approx(3.75)
    elif math_icer is not None:
        assert icer(tokens, math_avg, 32.5) == pytest.approx(math_icer, abs=0.05)


def test_no_icer_without_improvement():
    assert icer(12, 40.3, 40.3) is None
    assert icer(12, 39.0, 40.3) is None


def _scores(model, math, science):
    rows = [
        {"model": model, "bench": "mgsm", "lang": lang, "flexible_acc": v / 100, "strict_acc": 0.0}
        for lang, v in zip(["es", "bn", "te"], math)
    ]
    rows += [
        {"model": model, "bench": "mmlu", "lang": lang, "acc": v / 100, "acc_norm": 0.0}
        for lang, v in zip(["es", "bn", "te"], science)
    ]
    return rows


def test_table_layout_values_and_files(tmp_path):
    scores = (
        _scores("MAEC", [49.6, 32.4, 25.2], [56.2, 37.6, 30.4])
        + _scores("backbone", [48.4, 28.8, 20.4], [55.1, 36.6, 29.3])
        + _scores("F-CPT_A", [47.2, 20.0, 13.2], [51.9, 33.4, 29.4])
    )
    frame = write_results_table(
        scores, {"MAEC": 12e9, "F-CPT_A": 4e9}, tmp_path / "t.csv", tmp_path / "t.md"
    )
    assert list(frame.index) == ["backbone", "MAEC", "F-CPT_A"]
    assert list(frame.columns) == [
        "#Tokens (B)",
        "Math ES",
        "Math BN",
        "Math TE",
        "Math Avg",
        "Math ICER",
        "Science ES",
        "Science BN",
        "Science TE",
        "Science Avg",
        "Science ICER",
    ]
    assert frame.loc["MAEC", "Math Avg"] == pytest.approx((49.6 + 32.4 + 25.2) / 3)
    assert frame.loc["MAEC", "Math ICER"] == pytest.approx(
        12 / ((49.6 + 32.4 + 25.2 - 48.4 - 28.8 - 20.4) / 3)
    )
    assert frame.loc["MAEC", "Science ICER"] == pytest.approx(
        12 / ((56.2 + 37.6 + 30.4 - 55.1 - 36.6 - 29.3) / 3)
    )
    assert math.isnan(frame.loc["F-CPT_A", "Math ICER"]) and math.isnan(
        frame.loc["backbone", "Science ICER"]
    )
    assert (
        math.isnan(frame.loc["backbone", "#Tokens (B)"])
        and frame.loc["F-CPT_A", "#Tokens (B)"] == 4
    )
    reread = pd.read_csv(tmp_path / "t.csv", index_col="Model")
    pd.testing.assert_frame_equal(reread, frame, check_names=False)
    markdown = (tmp_path / "t.md").read_text().splitlines()
    assert markdown[0].startswith("| Model | #Tokens (B) | Math ES |")
    assert (
        markdown[2]
        == "| backbone | - | 48.4 | 28.8 | 20.4 | 32.5 | - | 55.1 | 36.6 | 29.3 | 40.3 | - |"
    )
    # 12 / 3.2 computed from float percentages is 3.7499..., printed 3.7
    assert (
        markdown[3]
        == "| MAEC | 12.0 | 49.6 | 32.4 | 25.2 | 35.7 | 3.7 | 56.2 | 37.6 | 30.4 | 41.4 | 11.2 |"
    )


def test_table_metric_and_language_choice():
    scores = _scores("backbone", [10, 20, 30], [40, 50, 60]) + _scores(
        "m", [20, 30, 40], [40, 50, 60]
    )
    frame = results_frame(
        scores, {"m": 1e9}, metrics={"mgsm": "strict_acc"}, languages=["te", "es"]
    )
    assert list(frame.columns[:4]) == ["#Tokens (B)", "Math TE", "Math ES", "Math Avg"]
    assert frame.loc["m", "Math Avg"] == 0.0 and math.isnan(frame.loc["m", "Math ICER"])


def test_model_with_only_one_bench():
    scores = (
        _scores("backbone", [10, 20, 30], [40, 50, 60])
        + _scores("m", [20, 30, 40], [40, 50, 60])[:3]
    )
    frame = results_frame(scores, {"m": 2e9})
    assert frame.loc["m", "Math ICER"] == pytest.approx(0.2)
    assert math.isnan(frame.loc["m", "Science Avg"]) and math.isnan(frame.loc["m", "Science ICER"])


def test_bad_scores_are_clear_errors():
    base = _scores("backbone", [10, 20, 30], [40, 50, 60])
    with pytest.raises(ValueError, match="no scores for the backbone 'backbone'"):
        results_frame(_scores("m", [1, 2, 3], [4, 5, 6]), {})
    with pytest.raises(ValueError, match="model 'm' lacks mgsm scores for te"):
        results_frame(base + _scores("m", [1, 2, 3], [4, 5, 6])[:2], {})
    with pytest.raises(ValueError, match="two scores for model 'backbone', mgsm es"):
        results_frame(base + base[:1], {})
    with pytest.raises(ValueError, match="no metric 'flexible_acc'"):
        results_frame(base + [{"model": "m", "bench": "mgsm", "lang": "es", "acc": 0.1}], {})


def test_markdown_dashes_for_empty_cells():
    frame = pd.DataFrame({"A": [1.25, math.nan]}, index=pd.Index(["x", "y"], name="Model"))
    assert markdown_table(frame) == "| Model | A |\n|---|---:|\n| x | 1.2 |\n| y | - |\n"


def test_select_variant_reads_variants_from_model_names(tmp_path):
    def score(model, acc):
        path = tmp_path / model / "mmlu_es.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"bench": "mmlu", "lang": "es", "acc": acc}))
        return path

    variants = ["gamma-0.2,eta-0.1,k2-0.8,mu-1.0", "gamma-1.0,eta-0.1,k2-0.8,mu-1.0"]
    paths = [
        score("maec_science", 0.9),
        score(f"maec_science.{variants[0]}", 0.4),
        score(f"maec_science.{variants[1]}", 0.5),
    ]
    choice = select_variant(paths, variants, "mmlu", tmp_path / "choice.json")
    assert choice["variant"] == variants[1]  # the configured model is no candidate
    assert choice["dev_average"] == {"configured": 0.9, variants[0]: 0.4, variants[1]: 0.5}
    assert json.loads((tmp_path / "choice.json").read_text()) == choice
