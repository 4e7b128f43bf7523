"""Bootstrap intervals and the exact McNemar test (maec.report.stats) against known cases."""

import math

import numpy as np
import pytest

from maec.report.stats import (
    accuracy_interval,
    align_questions,
    average_interval,
    is_significant,
    mcnemar,
    paired_difference_interval,
)


def test_large_sample_interval_matches_the_normal_binomial_interval():
    # 5000 examples, 2000 right: p = 0.4, normal interval p ± 1.96 sqrt(p(1-p)/n) = ± 0.01358
    correct = np.array([1] * 2000 + [0] * 3000)
    interval = accuracy_interval(correct)
    half = 1.959964 * math.sqrt(0.4 * 0.6 / 5000)
    assert interval.estimate == 0.4
    assert interval.low == pytest.approx(0.4 - half, abs=0.002)
    assert interval.high == pytest.approx(0.4 + half, abs=0.002)


def test_stratified_average_has_the_normal_interval_of_a_mean_of_independent_languages():
    # two languages, p = 0.5 and 0.2, n = 4000 each: var(avg) = (0.25 + 0.16) / 4000 / 4
    by_lang = {"es": [1] * 2000 + [0] * 2000, "bn": [1] * 800 + [0] * 3200}
    interval = average_interval(by_lang)
    half = 1.959964 * math.sqrt((0.25 + 0.16) / 4000 / 4)
    assert interval.estimate == pytest.approx(0.35)
    assert interval.low == pytest.approx(0.35 - half, abs=0.002)
    assert interval.high == pytest.approx(0.35 + half, abs=0.002)


def test_an_all_right_or_all_wrong_language_has_a_zero_width_interval():
    assert tuple(accuracy_interval([1, 1, 1, 1])) == (1.0, 1.0, 1.0)
    assert tuple(accuracy_interval([0, 0, 0])) == (0.0, 0.0, 0.0)


def test_paired_difference_of_identical_answers_is_exactly_zero():
    answers = {"es": [1, 0, 1, 1, 0, 0, 1], "te": [0, 0, 1]}
    assert tuple(paired_difference_interval(answers, answers)) == (0.0, 0.0, 0.0)
    assert not is_significant(paired_difference_interval(answers, answers))


def test_paired_difference_is_narrower_than_the_unpaired_one():
    rng = np.random.default_rng(1)
    base = (rng.random(400) < 0.5).astype(int)
    better = base.copy()
    better[np.flatnonzero(base == 0)[:30]] = 1  # right on 30 more questions, nothing lost
    paired = paired_difference_interval({"es": better}, {"es": base})
    assert paired.estimate == pytest.approx(30 / 400)
    # only the 30 discordant questions vary: every resample gains, so 0 is left out
    assert paired.low > 0 and is_significant(paired)
    unpaired_half = 1.96 * math.sqrt(2 * 0.25 / 400)
    assert paired.high - paired.low < unpaired_half


def test_same_seed_same_interval_other_seed_other_interval():
    correct = [1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1]
    assert accuracy_interval(correct, seed=3) == accuracy_interval(correct, seed=3)
    assert accuracy_interval(correct, seed=3) != accuracy_interval(correct, seed=4)
    assert accuracy_interval(correct) == accuracy_interval(correct, seed=0)


def test_mcnemar_exact_p_value_by_hand():
    # 10 questions: first right/second wrong on 6, the reverse on 1, 3 concordant.
    first = [1, 1, 1, 1, 1, 1, 0, 1, 0, 1]
    second = [0, 0, 0, 0, 0, 0, 1, 1, 0, 1]
    result = mcnemar(first, second)
    # n = 7 discordant, p = 2 * (C(7,0) + C(7,1)) / 2^7 = 2 * 8 / 128 = 0.125
    assert (result.only_first, result.only_second) == (6, 1)
    assert result.p_value == pytest.approx(0.125)
    assert mcnemar(second, first).p_value == pytest.approx(0.125)


def test_mcnemar_without_discordant_pairs_or_balanced_is_one():
    assert mcnemar([1, 0, 1], [1, 0, 1]).p_value == 1.0
    assert mcnemar([1, 0], [0, 1]).p_value == 1.0  # 2 * (C(2,0)+C(2,1)) / 4 = 1.5 -> 1


def test_align_questions_orders_by_id_and_refuses_different_question_sets():
    first, second = align_questions({"q2": True, "q1": False}, {"q1": True, "q2": True}, "es")
    assert first.tolist() == [0.0, 1.0] and second.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"mgsm es: .*not scored on the same questions.*q3"):
        align_questions({"q1": True, "q3": True}, {"q1": True}, "mgsm es")


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="cannot be paired"):
        paired_difference_interval({"es": [1, 0]}, {"es": [1, 0, 1]})
    with pytest.raises(ValueError, match="different languages"):
        paired_difference_interval({"es": [1]}, {"bn": [1]})
    with pytest.raises(ValueError, match="0 or 1"):
        accuracy_interval([1, 2])
    with pytest.raises(ValueError, match="non-empty"):
        accuracy_interval([])
    with pytest.raises(ValueError, match="resamples"):
        accuracy_interval([1], resamples=0)
