"""The uncertainty of the tables' numbers, from the per-example records beside each score
file: bootstrap intervals of every accuracy and Avg, paired differences between rows, and
McNemar's test per language (the statistics are `maec.report.stats`; this module feeds them the
records and names the results as the tables name their columns).

Every frame here is long (one row per number) and in percent, like the tables.
"""

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from maec.data.jsonl import jsonl_records
from maec.report.stats import (
    LEVEL,
    RESAMPLES,
    SEED,
    align_questions,
    average_interval,
    is_significant,
    mcnemar,
    paired_difference_interval,
)
from maec.report.tables.accuracy import domain, metric_of, ordered_benches
from maec.report.tables.results import average_column
from maec.workflow.paths import eval_file, records_beside

Cell = tuple[str, str, str]  # (model, bench, lang)
AVERAGE = "avg"  # the `lang` of an Avg row


def correct_key(metric: str) -> str:
    """The record field of a score metric: flexible_acc -> flexible_correct, acc -> acc_correct."""
    return f"{metric.removesuffix('_acc') if metric.endswith('_acc') else metric}_correct"


def correctness_from_files(
    score_paths: Sequence[str | Path],
    labels: Mapping[str, str],
    metrics: Mapping[str, str] | None = None,
) -> dict[Cell, dict[str, bool]]:
    """(row label, bench, lang) -> question id (the record's `source`) -> correct, read from
    the records beside each score file; the records must reproduce the score's accuracy."""
    cells: dict[Cell, dict[str, bool]] = {}
    for path in score_paths:
        score = json.loads(Path(path).read_text(encoding="utf-8"))
        model = eval_file(path).model
        cell = (labels.get(model, model), score["bench"], score["lang"])
        metric = metric_of(score, metrics)
        records = records_beside(path)
        cells[cell] = _read_correctness(Path(records), correct_key(metric))
        accuracy = sum(cells[cell].values()) / len(cells[cell])
        if len(cells[cell]) != score["n"] or not math.isclose(accuracy, score[metric]):
            raise ValueError(
                f"{records}: {len(cells[cell])} records with {metric} {accuracy:.4f}, "
                f"but {path} says {score['n']} and {score[metric]:.4f}"
            )
    return cells


def _read_correctness(path: Path, key: str) -> dict[str, bool]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: the per-example records of a score are missing")
    correct: dict[str, bool] = {}
    for row, record in jsonl_records(path):
        for field in ("source", key):
            if field not in record:
                raise ValueError(f"{path}, line {row}: no {field!r}")
        if record["source"] in correct:
            raise ValueError(f"{path}, line {row}: question {record['source']!r} twice")
        correct[record["source"]] = bool(record[key])
    if not correct:
        raise ValueError(f"{path}: no records")
    return correct


def _benches(correctness) -> list[str]:
    return ordered_benches(bench for _, bench, _ in correctness)


def _covered(correctness, bench: str, averaged) -> list[str]:
    shown = list(dict.fromkeys(lang for _, b, lang in correctness if b == bench))
    return list((averaged or {}).get(bench) or shown)


def _by_lang(correctness, model: str, bench: str, languages) -> dict[str, list[bool]] | None:
    """A model's correctness per language; None if a language lacks."""
    if any((model, bench, lang) not in correctness for lang in languages):
        return None
    return {lang: list(correctness[(model, bench, lang)].values()) for lang in languages}


def interval_frame(
    correctness: Mapping[Cell, Mapping[str, bool]],
    averaged: Mapping[str, Sequence[str] | None] | None = None,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Every accuracy and every Avg (over `averaged[bench]`, default every language of the
    bench) with its bootstrap interval: columns model, bench, lang (`avg` for Avg), column
    (the results table's header), estimate, low, high (percent)."""
    settings = dict(resamples=resamples, seed=seed, level=level)
    rows = []
    models = list(dict.fromkeys(model for model, _, _ in correctness))
    for bench in _benches(correctness):
        header = domain(bench)
        covered = _covered(correctness, bench, averaged)
        for model in models:
            cells = [c for c in correctness if c[0] == model and c[1] == bench]
            for _, _, lang in cells:
                correct = _by_lang(correctness, model, bench, [lang])
                rows.append(
                    _interval_row(
                        model,
                        bench,
                        lang,
                        f"{header} {lang.upper()}",
                        average_interval(correct, **settings),
                    )
                )
            by_lang = _by_lang(correctness, model, bench, covered) if cells else None
            if by_lang:
                interval = average_interval(by_lang, **settings)
                column = average_column(header, covered)
                rows.append(_interval_row(model, bench, AVERAGE, column, interval))
    return pd.DataFrame(
        rows, columns=["model", "bench", "lang", "column", "estimate", "low", "high"]
    )


def _interval_row(model, bench, lang, column, interval) -> dict:
    return dict(model=model, bench=bench, lang=lang, column=column) | {
        key: 100 * value for key, value in interval._asdict().items()
    }


def comparison_pairs(
    models: Sequence[str], backbone: str, focus: str | None = None
) -> list[tuple[str, str]]:
    """The paired comparisons of a table: every row against the backbone, then `focus`
    (MAEC in Table 2) against every other row."""
    pairs = [(model, backbone) for model in models if model != backbone]
    if focus is not None and focus in models:
        pairs += [(focus, model) for model in models if model not in (focus, backbone)]
    return pairs


def paired_frame(
    correctness: Mapping[Cell, Mapping[str, bool]],
    pairs: Sequence[tuple[str, str]],
    averaged: Mapping[str, Sequence[str] | None] | None = None,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Avg of `first` minus Avg of `second` for each pair and bench both are scored on, with
    its paired bootstrap interval: columns first, second, bench, column, difference, low,
    high (points), significant (the interval leaves out 0)."""
    rows = []
    for bench in _benches(correctness):
        covered = _covered(correctness, bench, averaged)
        for first, second in pairs:
            aligned = _aligned(correctness, first, second, bench, covered)
            if aligned is None:
                continue
            interval = paired_difference_interval(
                *aligned, resamples=resamples, seed=seed, level=level
            )
            rows.append(
                dict(
                    first=first,
                    second=second,
                    bench=bench,
                    column=average_column(domain(bench), covered),
                )
                | {
                    "difference": 100 * interval.estimate,
                    "low": 100 * interval.low,
                    "high": 100 * interval.high,
                    "significant": is_significant(interval),
                }
            )
    columns = ["first", "second", "bench", "column", "difference", "low", "high", "significant"]
    return pd.DataFrame(rows, columns=columns)


def _aligned(correctness, first, second, bench, languages):
    """Both models' correctness per language on the same questions; None if one lacks it."""
    cells = [(model, bench, lang) for model in (first, second) for lang in languages]
    if not languages or any(cell not in correctness for cell in cells):
        return None
    pairs = {
        lang: align_questions(
            correctness[(first, bench, lang)],
            correctness[(second, bench, lang)],
            f"{first!r} and {second!r}, {bench} {lang}",
        )
        for lang in languages
    }
    return {lang: a for lang, (a, _) in pairs.items()}, {lang: b for lang, (_, b) in pairs.items()}


def mcnemar_frame(
    correctness: Mapping[Cell, Mapping[str, bool]], pairs: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """McNemar's exact test per pair, bench and language both models are scored in: columns
    first, second, bench, lang, questions, only_first, only_second, p_value."""
    rows = []
    for bench in _benches(correctness):
        languages = list(dict.fromkeys(lang for _, b, lang in correctness if b == bench))
        for first, second in pairs:
            for lang in languages:
                aligned = _aligned(correctness, first, second, bench, [lang])
                if aligned is None:
                    continue
                test = mcnemar(aligned[0][lang], aligned[1][lang])
                rows.append(
                    dict(
                        first=first,
                        second=second,
                        bench=bench,
                        lang=lang,
                        questions=len(aligned[0][lang]),
                    )
                    | test._asdict()
                )
    columns = [
        "first",
        "second",
        "bench",
        "lang",
        "questions",
        "only_first",
        "only_second",
        "p_value",
    ]
    return pd.DataFrame(rows, columns=columns)


def within_interval(
    averages: Mapping[str, float], chosen: str, low: float, high: float
) -> dict[str, float]:
    """The settings other than `chosen` whose average lies in [low, high], the chosen
    setting's interval: on this much data, the choice among them is not settled."""
    return {
        name: value
        for name, value in sorted(averages.items(), key=lambda item: -item[1])
        if name != chosen and low <= value <= high
    }
