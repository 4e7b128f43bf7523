"""Several training seeds in one table: the mean over seeds and the spread across them.

With several seeds (the config's `seeds`) the trained models are scored once per seed; the
backbone and the reference models once. A table then shows each number as the mean over
the seeds a model has, its per-question interval that of the mean (each question's
correctness averaged over the seeds, `maec.report.stats`), and beside it the spread across seeds:
the sample standard deviation (n − 1 in the denominator) of the per-seed values, with their
minimum and maximum in the CSVs. Pure functions on what `maec.report.tables.files` and
`maec.report.tables.intervals` read, one mapping per seed.
"""

import statistics
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import pandas as pd

from maec.report.tables.accuracy import (
    accuracy_cells,
    domain,
    language_average,
    ordered_benches,
)
from maec.report.tables.files import scores_from_files
from maec.report.tables.intervals import (
    AVERAGE,
    Cell,
    comparison_pairs,
    correctness_from_files,
    interval_frame,
    mcnemar_frame,
    paired_frame,
)
from maec.report.tables.results import average_column

SPREAD_COLUMNS = ["seeds", "sd", "min", "max"]


def mean_scores(scores_by_seed: Mapping[int, Sequence[dict]]) -> list[dict]:
    """One score per (model, bench, lang): every numeric metric averaged over the seeds that
    scored it (a model scored once keeps its score); the seeds must agree on `n`."""
    grouped: dict[Cell, list[dict]] = {}
    for scores in scores_by_seed.values():
        for score in scores:
            grouped.setdefault((score["model"], score["bench"], score["lang"]), []).append(score)
    means = []
    for (model, bench, lang), group in grouped.items():
        sizes = {score["n"] for score in group}
        if len(sizes) > 1:
            raise ValueError(
                f"{model!r}, {bench} {lang}: the seeds scored {sorted(sizes)} questions"
            )
        mean = dict(group[0])
        for key, value in group[0].items():
            if isinstance(value, float):
                mean[key] = sum(score[key] for score in group) / len(group)
        means.append(mean)
    return means


def mean_correctness(
    correctness_by_seed: Mapping[int, Mapping[Cell, Mapping[str, bool]]],
) -> dict[Cell, dict[str, float]]:
    """Each question's correctness averaged over the seeds that scored its cell; the seeds
    must have scored the same questions."""
    grouped: dict[Cell, list[Mapping[str, bool]]] = {}
    for cells in correctness_by_seed.values():
        for cell, correct in cells.items():
            grouped.setdefault(cell, []).append(correct)
    means = {}
    for cell, runs in grouped.items():
        if any(set(run) != set(runs[0]) for run in runs):
            raise ValueError(f"{cell}: the seeds were scored on different questions")
        means[cell] = {q: sum(float(run[q]) for run in runs) / len(runs) for q in runs[0]}
    return means


def seed_view(by_seed: Mapping[int, Mapping | Sequence[dict]], seed: int):
    """One seed's cells (a correctness mapping) or scores (a list), with the first seed's of
    the models scored only once (the backbone, reference models), so that every comparison
    of the table exists per seed."""
    first, own = next(iter(by_seed.values())), by_seed[seed]
    if isinstance(own, Mapping):
        return {**first, **own}
    models = {score["model"] for score in own}
    return [score for score in first if score["model"] not in models] + list(own)


def _values_by_seed(scores_by_seed, averaged) -> dict[tuple[str, str, str, str], list[float]]:
    """(model, bench, lang or `avg`, column) -> the value of each seed that scored it."""
    values: dict[tuple[str, str, str, str], list[float]] = {}
    for scores in scores_by_seed.values():
        cells = accuracy_cells(scores)
        for bench in ordered_benches(b for _, b, _ in cells):
            header = domain(bench)
            shown = list(dict.fromkeys(lang for _, b, lang in cells if b == bench))
            covered = list((averaged or {}).get(bench) or shown)
            for model in dict.fromkeys(m for m, b, _ in cells if b == bench):
                for lang in shown:
                    if (model, bench, lang) in cells:
                        key = (model, bench, lang, f"{header} {lang.upper()}")
                        values.setdefault(key, []).append(cells[(model, bench, lang)])
                if all((model, bench, lang) in cells for lang in covered):
                    key = (model, bench, AVERAGE, average_column(header, covered))
                    average = language_average(cells, model, bench, covered)
                    values.setdefault(key, []).append(average)
    return values


def _spread(values: Sequence[float]) -> dict:
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return dict(seeds=len(values), sd=sd, min=min(values), max=max(values))


def seed_spread(
    scores_by_seed: Mapping[int, Sequence[dict]],
    averaged: Mapping[str, Sequence[str] | None] | None = None,
) -> pd.DataFrame:
    """The spread across seeds of every accuracy and Avg (percent): columns model, bench,
    lang (`avg` for Avg), column, seeds (how many scored it), sd (NaN for one), min, max."""
    rows = [
        dict(model=model, bench=bench, lang=lang, column=column) | _spread(values)
        for (model, bench, lang, column), values in _values_by_seed(
            scores_by_seed, averaged
        ).items()
    ]
    return pd.DataFrame(rows, columns=["model", "bench", "lang", "column", *SPREAD_COLUMNS])


def difference_spread(
    scores_by_seed: Mapping[int, Sequence[dict]],
    pairs: Sequence[tuple[str, str]],
    averaged: Mapping[str, Sequence[str] | None] | None = None,
) -> pd.DataFrame:
    """The spread across seeds of each pair's difference of Avg (points): per seed, the
    first model's Avg minus the second's (`seed_view`: a model scored once counts in every
    seed); columns first, second, bench, seeds, sd, min, max."""
    per_seed = {
        seed: _values_by_seed({seed: seed_view(scores_by_seed, seed)}, averaged)
        for seed in scores_by_seed
    }
    benches = ordered_benches(b for values in per_seed.values() for _, b, _, _ in values)
    rows = []
    for bench in benches:
        for first, second in pairs:
            differences = []
            for values in per_seed.values():
                avg = {
                    m: v[0]
                    for (m, b, lang, _), v in values.items()
                    if b == bench and lang == AVERAGE
                }
                if first in avg and second in avg:
                    differences.append(avg[first] - avg[second])
            if differences:
                rows.append(dict(first=first, second=second, bench=bench) | _spread(differences))
    return pd.DataFrame(rows, columns=["first", "second", "bench", *SPREAD_COLUMNS])


def seeds_note(seeds: Sequence[int]) -> str:
    """How a table over several seeds is to be read."""
    return (
        f"Trained models: the mean over {len(seeds)} training seeds "
        f"({', '.join(str(s) for s in seeds)}); ± the interval of that mean over questions "
        "(each question's correctness averaged over the seeds), sd the standard deviation "
        "across seeds (n − 1 in the denominator; the minimum and maximum are in the table's "
        "`_intervals.csv` and `_paired.csv`, each seed's scores in `scores.csv`)."
    )


def group_by_seed(paths: Sequence[str], seeds: Sequence[int]) -> dict[int, list[str]]:
    """Score files by the seed of each (`seeds` names each path's seed, in order)."""
    if len(paths) != len(seeds):
        raise ValueError(f"{len(paths)} score files but {len(seeds)} seeds for them")
    grouped: dict[int, list[str]] = {}
    for path, seed in zip(paths, seeds):
        grouped.setdefault(seed, []).append(path)
    return grouped


class Uncertainty(NamedTuple):
    """A table's numbers and their uncertainty, over one seed or several."""

    scores: list[dict]  # one per cell: the mean over seeds
    intervals: pd.DataFrame  # of the means; with several seeds also their spread
    paired: pd.DataFrame  # differences of the means; with several seeds their spread
    mcnemar: pd.DataFrame  # per seed (a `seed` column with several)
    seed_scores: list[dict]  # each seed's own scores (with `seed` when several)
    seed_intervals: pd.DataFrame  # their intervals (with `seed` when several)


def uncertainty_tables(
    paths_by_seed: Mapping[int, Sequence[str]],
    labels: Mapping[str, str],
    backbone: str,
    focus: str | None = None,
    averaged: Mapping[str, Sequence[str] | None] | None = None,
    **bootstrap,
) -> Uncertainty:
    """Everything a results-style table prints from its score files, by seed (the first
    seed's files hold every model, the others' the trained models): with one seed exactly
    the one-seed tables; with several, the mean over seeds with its per-question interval
    and the spread across seeds."""
    scores_by_seed = {s: scores_from_files(p, labels) for s, p in paths_by_seed.items()}
    correct_by_seed = {s: correctness_from_files(p, labels) for s, p in paths_by_seed.items()}
    scores, correctness = mean_scores(scores_by_seed), mean_correctness(correct_by_seed)
    models = list(dict.fromkeys(s["model"] for s in scores))
    pairs = comparison_pairs(models, backbone, focus)
    intervals = interval_frame(correctness, averaged, **bootstrap)
    paired = paired_frame(correctness, pairs, averaged, **bootstrap)
    if len(paths_by_seed) == 1:
        mcnemar = mcnemar_frame(correctness, pairs)
        return Uncertainty(scores, intervals, paired, mcnemar, scores, intervals)
    intervals = intervals.merge(
        seed_spread(scores_by_seed, averaged), on=["model", "bench", "lang", "column"], how="left"
    )
    paired = paired.merge(
        difference_spread(scores_by_seed, pairs, averaged),
        on=["first", "second", "bench"],
        how="left",
    )

    def by_seed(frame_of_seed) -> pd.DataFrame:
        frames = [frame_of_seed(seed).assign(seed=seed) for seed in paths_by_seed]
        return pd.concat(frames, ignore_index=True)

    mcnemar = by_seed(lambda seed: mcnemar_frame(seed_view(correct_by_seed, seed), pairs))
    seed_intervals = by_seed(
        lambda seed: interval_frame(correct_by_seed[seed], averaged, **bootstrap)
    )
    seed_scores = [
        score | {"seed": seed} for seed, scores in scores_by_seed.items() for score in scores
    ]
    return Uncertainty(scores, intervals, paired, mcnemar, seed_scores, seed_intervals)
