"""How far a benchmark score can be trusted: bootstrap intervals and paired tests.

Pure functions on per-example correctness (arrays of 0/1, one per question), numpy only.
Every interval is a percentile bootstrap: the examples are drawn again with replacement
`resamples` times (default 2000) from a generator seeded with `seed` (default 0), and the
interval holds the central `level` (default 0.95) of the statistic's resampled values.
An average over languages resamples each language's examples on their own (stratified), as
each language's questions are a sample of their own; a paired difference resamples the
question indices once for both models, so a question both get right or both get wrong adds
no noise to the difference. Accuracies here are fractions in [0, 1]. The intervals also
take a question's correctness averaged over several training seeds (a fraction in [0, 1]):
the interval of the mean over seeds then measures the sampling of questions.
"""

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


class Interval(NamedTuple):
    """A statistic and the bounds of its bootstrap interval."""

    estimate: float
    low: float
    high: float


def _as_correctness(values, what: str, binary: bool = False) -> np.ndarray:
    """Correctness per question: 0/1, or (not `binary`) a mean of 0/1 over seeds."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{what}: expected a non-empty list of 0/1 correctness values")
    if binary and not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{what}: correctness values must be 0 or 1")
    if not ((array >= 0) & (array <= 1)).all():
        raise ValueError(f"{what}: correctness values must be 0 or 1 (or a mean of them)")
    return array


def _check_settings(resamples: int, level: float) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), not {level}")


def _percentile_interval(estimate: float, resampled: np.ndarray, level: float) -> Interval:
    tail = (1 - level) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return Interval(float(estimate), float(low), float(high))


def _resampled_means(rng: np.random.Generator, columns: Sequence[np.ndarray], resamples: int):
    """Means of each column over the same `resamples` draws of its indices (the columns of
    one language share their draws: that is what pairs them)."""
    n = len(columns[0])
    indices = rng.integers(0, n, size=(resamples, n))
    return [column[indices].mean(axis=1) for column in columns]


def average_interval(
    correct_by_lang: Mapping[str, Sequence],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval:
    """The mean over languages of each language's accuracy, with its stratified bootstrap
    interval (each language's examples are resampled within that language)."""
    _check_settings(resamples, level)
    if not correct_by_lang:
        raise ValueError("no languages to average")
    rng = np.random.default_rng(seed)
    estimate, resampled = 0.0, np.zeros(resamples)
    for lang, values in correct_by_lang.items():
        correct = _as_correctness(values, f"language {lang!r}")
        estimate += correct.mean()
        resampled += _resampled_means(rng, [correct], resamples)[0]
    k = len(correct_by_lang)
    return _percentile_interval(estimate / k, resampled / k, level)


def accuracy_interval(
    correct: Sequence, *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> Interval:
    """The accuracy of one set of examples with its percentile bootstrap interval."""
    return average_interval({"": correct}, resamples=resamples, seed=seed, level=level)


def paired_difference_interval(
    first_by_lang: Mapping[str, Sequence],
    second_by_lang: Mapping[str, Sequence],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval:
    """Average of `first` minus average of `second` over the same languages and questions
    (aligned index by index, see `align_questions`), with the paired bootstrap interval:
    within each language one draw of question indices serves both models."""
    _check_settings(resamples, level)
    if sorted(first_by_lang) != sorted(second_by_lang):
        raise ValueError(
            f"paired models scored in different languages: {sorted(first_by_lang)} "
            f"and {sorted(second_by_lang)}"
        )
    if not first_by_lang:
        raise ValueError("no languages to compare")
    rng = np.random.default_rng(seed)
    estimate, resampled = 0.0, np.zeros(resamples)
    for lang in first_by_lang:
        first = _as_correctness(first_by_lang[lang], f"language {lang!r}, first model")
        second = _as_correctness(second_by_lang[lang], f"language {lang!r}, second model")
        if len(first) != len(second):
            raise ValueError(
                f"language {lang!r}: {len(first)} and {len(second)} questions cannot be paired"
            )
        estimate += first.mean() - second.mean()
        resampled += _resampled_means(rng, [first - second], resamples)[0]
    k = len(first_by_lang)
    return _percentile_interval(estimate / k, resampled / k, level)


def is_significant(interval: Interval) -> bool:
    """Whether a difference's interval leaves out 0."""
    return interval.low > 0 or interval.high < 0


def align_questions(
    first: Mapping[str, bool], second: Mapping[str, bool], what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Two models' correctness keyed by question id as arrays in one question order; two
    different question sets are refused, naming `what` and questions only one has."""
    only_first = sorted(set(first) - set(second))
    only_second = sorted(set(second) - set(first))
    if only_first or only_second:
        raise ValueError(
            f"{what}: the two models were not scored on the same questions "
            f"(only the first: {only_first[:3]}{'...' if len(only_first) > 3 else ''}; "
            f"only the second: {only_second[:3]}{'...' if len(only_second) > 3 else ''})"
        )
    order = sorted(first)
    return (
        np.array([float(first[q]) for q in order]),
        np.array([float(second[q]) for q in order]),
    )


class McNemar(NamedTuple):
    """Discordant pairs of two models on the same questions and the exact test's p-value."""

    only_first: int  # questions the first model gets right and the second wrong
    only_second: int
    p_value: float


def mcnemar(first: Sequence, second: Sequence) -> McNemar:
    """Exact McNemar test: a two-sided binomial test, p = 1/2, on the discordant pairs."""
    a = _as_correctness(first, "first model", binary=True)
    b = _as_correctness(second, "second model", binary=True)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} questions cannot be paired")
    only_first = int(((a == 1) & (b == 0)).sum())
    only_second = int(((a == 0) & (b == 1)).sum())
    n = only_first + only_second
    tail = sum(math.comb(n, k) for k in range(min(only_first, only_second) + 1))
    return McNemar(only_first, only_second, min(1.0, 2 * tail / 2**n))
