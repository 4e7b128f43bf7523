"""The results table in the paper's Table 2 layout: one row per model; per benchmark the
accuracy of every language, Avg over the averaged languages and ICER; #Tokens.

The numbers come from `maec.report.tables.accuracy`; this module only lays them out. Columns of a
benchmark ("Math" for MGSM, "Science" for MMLU, its own name for a benchmark of
lm-evaluation-harness tasks): the averaged languages, `Avg (ES+BN+TE)`
(its header names the languages it averages), `ICER`, then the languages shown outside
the average.
"""

import logging
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from maec.report.tables.accuracy import (
    accuracy_cells,
    domain,
    icer,
    language_average,
    ordered_benches,
    printed,
)

log = logging.getLogger(__name__)

TOKENS_COLUMN = "#Tokens (B)"


def average_column(domain: str, languages: Sequence[str]) -> str:
    """The Avg column's header, naming the languages it averages: `Math Avg (ES+BN+TE)`."""
    return f"{domain} Avg ({'+'.join(lang.upper() for lang in languages)})"


def is_average_column(column: str, domain: str) -> bool:
    return column.startswith(f"{domain} Avg")


def _bench_languages(scores, bench: str, languages: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(s["lang"] for s in scores if s["bench"] == bench))
    if languages is None:
        return present
    return [lang for lang in languages if lang in present]


def _row_order(scores, backbone: str, order: Sequence[str] | None) -> list[str]:
    models = list(dict.fromkeys(s["model"] for s in scores))
    if backbone not in models:
        raise ValueError(f"no scores for the backbone {backbone!r}; models: {', '.join(models)}")
    if order is None:
        return [backbone] + [m for m in models if m != backbone]
    unordered = [m for m in models if m not in order]
    if unordered:
        raise ValueError(f"models {unordered} have scores but no place in the row order")
    return [m for m in order if m in models]


def _tokens_by_bench(training_tokens, models, benches) -> dict[str, dict[str, float]]:
    """model -> bench -> tokens; a plain number counts for every bench."""
    tokens = {}
    for model in models:
        value = (training_tokens or {}).get(model)
        if value is None:
            tokens[model] = {}
        elif isinstance(value, Mapping):
            tokens[model] = {bench: float(v) for bench, v in value.items()}
        else:
            tokens[model] = {bench: float(value) for bench in benches}
    return tokens


def results_frame(
    scores: Sequence[dict],
    training_tokens: Mapping[str, float | Mapping[str, float]] | None = None,
    *,
    backbone: str = "backbone",
    metrics: Mapping[str, str] | None = None,
    languages: Sequence[str] | None = None,
    averaged: Mapping[str, Sequence[str] | None] | None = None,
    order: Sequence[str] | None = None,
    icer_decimals: int | None = None,
) -> pd.DataFrame:
    """The table as a DataFrame (percent; NaN where a value does not apply).

    `scores`: score dicts of `evaluate_mgsm` / `evaluate_mmlu` with a "model" key;
    `training_tokens`: model -> training tokens (a count, not billions), or model -> bench
    -> tokens when a model's benchmarks were bought with different runs;
    `metrics`: bench -> score key (default MGSM flexible_acc, MMLU acc);
    `languages`: the languages shown, in order (default all, in order of appearance);
    `averaged`: bench -> the languages Avg covers (default, or None: every shown language);
    `order`: the rows (default the backbone, then the models in order of appearance);
    `icer_decimals`: ICER from the averages as printed with this many decimals, as the
    paper's Table 2 computes it (None: from the exact averages).
    """
    cells = accuracy_cells(scores, metrics)
    models = _row_order(scores, backbone, order)
    benches = ordered_benches(s["bench"] for s in scores)
    tokens = _tokens_by_bench(training_tokens, models, benches)
    shared_tokens = all(len(set(t.values())) <= 1 for t in tokens.values())
    rows: dict[str, dict[str, float]] = {model: {} for model in models}
    if shared_tokens:
        for model in models:
            value = next(iter(tokens[model].values()), math.nan)
            rows[model][TOKENS_COLUMN] = value / 1e9
    for bench in benches:
        header = domain(bench)
        shown = _bench_languages(scores, bench, languages)
        if not shown:
            continue
        covered = list((averaged or {}).get(bench) or shown)
        unscored = [lang for lang in covered if lang not in shown]
        if unscored:
            raise ValueError(f"{bench}: the averaged languages {unscored} have no scores")
        outside = [lang for lang in shown if lang not in covered]
        averages = {}
        for model in models:
            have = [lang for lang in shown if (model, bench, lang) in cells]
            if have and len(have) < len(shown):
                missing = sorted(set(shown) - set(have))
                raise ValueError(f"model {model!r} lacks {bench} scores for {', '.join(missing)}")
            averages[model] = language_average(cells, model, bench, covered) if have else math.nan
        if math.isnan(averages[backbone]):
            raise ValueError(f"the backbone {backbone!r} has no {bench} scores")
        for model in models:
            row = rows[model]
            if not shared_tokens:
                row[f"{header} {TOKENS_COLUMN}"] = tokens[model].get(bench, math.nan) / 1e9
            for lang in covered:
                row[f"{header} {lang.upper()}"] = cells.get((model, bench, lang), math.nan)
            row[average_column(header, covered)] = averages[model]
            row[f"{header} ICER"] = _icer_cell(
                model, backbone, averages, tokens, bench, icer_decimals, header
            )
            for lang in outside:
                row[f"{header} {lang.upper()}"] = cells.get((model, bench, lang), math.nan)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "Model"
    return frame


def _icer_cell(model, backbone, averages, tokens, bench, decimals, domain) -> float:
    """ICER of one model and benchmark (NaN: the backbone, no gain, or no token count)."""
    if model == backbone or math.isnan(averages[model]):
        return math.nan
    average, baseline = printed(averages[model], decimals), printed(averages[backbone], decimals)
    count = tokens[model].get(bench)
    if count is None:
        # Only a table that counts some models' tokens is missing this one's.
        if average > baseline and any(tokens.values()):
            log.warning("no training tokens for %s: its %s ICER is left empty", model, domain)
        return math.nan
    value = icer(count / 1e9, average, baseline)
    return math.nan if value is None else value


def token_budget(
    runs: Sequence[Mapping], order: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2's #Tokens before any run, from records {row, ability, run, tokens} (the
    planned tokens of each run a row's model for an ability counts): the records as a frame,
    and the totals in billions, one row per table row in `order`, one column per ability."""
    records = pd.DataFrame(list(runs), columns=["row", "ability", "run", "tokens"])
    totals = records.groupby(["row", "ability"], sort=False)["tokens"].sum().unstack() / 1e9
    totals = totals.reindex([row for row in order if row in totals.index])
    totals.columns = [f"{ability} {TOKENS_COLUMN}" for ability in totals.columns]
    totals.index.name = "Model"
    return records, totals
