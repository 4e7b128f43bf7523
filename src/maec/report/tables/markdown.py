"""Tables as files: CSV with full precision and a Markdown pipe table as the paper prints it."""

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from maec.io.atomic import write_text
from maec.report.tables.results import TOKENS_COLUMN, results_frame


def markdown_table(frame: pd.DataFrame, digits: int = 1) -> str:
    """Pipe table with `digits` decimals and "-" for empty cells (as the paper's table)."""

    def cell(value, column) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, float) and math.isnan(value):
            return "-"
        small = column.endswith(TOKENS_COLUMN) or column.endswith(" ICER")
        if small and 0 < value < 1:  # demo runs spend thousandths of a billion tokens
            return f"{value:.2g}"
        return f"{value:.{digits}f}"

    header = [frame.index.name or "", *frame.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|",
    ]
    for model, row in frame.iterrows():
        lines.append("| " + " | ".join([str(model), *(cell(v, c) for c, v in row.items())]) + " |")
    return "\n".join(lines) + "\n"


def spread_mark(row, digits: int = 1) -> str:
    """` (sd 1.2)` for a row with a spread across seeds (`maec.report.tables.seeds`), else
    nothing."""
    sd = getattr(row, "sd", math.nan)
    return "" if math.isnan(sd) else f" (sd {sd:.{digits}f})"


def with_intervals(frame: pd.DataFrame, intervals: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """The frame as printed with intervals: each cell of `intervals` (long: model, column,
    low, high; with several seeds sd) as `47.6 ± 2.9`, ± half the interval's width (and
    `(sd 1.2)`, the spread across seeds); other cells unchanged."""
    shown = frame.astype(object)
    for row in intervals.itertuples():
        if row.model in shown.index and row.column in shown.columns:
            value = frame.loc[row.model, row.column]
            half = (row.high - row.low) / 2
            shown.loc[row.model, row.column] = (
                f"{value:.{digits}f} ± {half:.{digits}f}{spread_mark(row, digits)}"
            )
    return shown


NOT_SIGNIFICANT = "n.s."


def paired_table(paired: pd.DataFrame, digits: int = 1) -> str:
    """Paired differences of Avg (long: first, second, column, difference, low, high,
    significant; with several seeds sd) as a pipe table: one row per pair, one column per
    Avg; `n.s.` marks a difference whose interval contains 0."""
    if paired.empty:
        return ""

    def cell(row) -> str:
        mark = "" if row.significant else f" {NOT_SIGNIFICANT}"
        interval = f"[{row.low:.{digits}f}, {row.high:.{digits}f}]"
        return f"{row.difference:+.{digits}f} {interval}{spread_mark(row, digits)}{mark}"

    rows: dict[str, dict[str, str]] = {}
    for row in paired.itertuples():
        rows.setdefault(f"{row.first} − {row.second}", {})[f"Δ {row.column}"] = cell(row)
    frame = pd.DataFrame.from_dict(rows, orient="index").fillna("-")
    frame.index.name = "Difference"
    return markdown_table(frame, digits)


def intervals_note(resamples: int, seed: int, level: float, paired: bool = True) -> str:
    """How the intervals (and, with `paired`, the paired differences) of a table are computed."""
    percent = f"{100 * level:g} %"
    note = (
        f"x ± h: h is half the width of the {percent} percentile bootstrap interval "
        f"({resamples} resamples of the questions, seed {seed}; for Avg the questions are "
        "resampled within each language)"
    )
    if not paired:
        return f"{note}."
    return (
        f"{note}; the bounds are in the table's `_intervals.csv`. Differences of Avg: the "
        f"{percent} paired bootstrap interval (one draw of questions for both models), "
        f"{NOT_SIGNIFICANT}: the interval contains 0; McNemar's exact p-values per language "
        "are in the table's `_mcnemar.csv`."
    )


def write_frame(
    frame: pd.DataFrame,
    out_csv,
    out_md,
    note: str | None = None,
    digits: int = 1,
    intervals: pd.DataFrame | None = None,
    paired: pd.DataFrame | None = None,
) -> None:
    """A table as CSV (full precision) and Markdown (`digits` decimals, the cells of
    `intervals` with their ± and the `paired` differences below); `note` is printed under
    the Markdown."""
    write_text(Path(out_csv), frame.to_csv())
    shown = frame if intervals is None else with_intervals(frame, intervals, digits)
    text = markdown_table(shown, digits)
    if paired is not None and not paired.empty:
        text += "\n" + paired_table(paired, digits)
    write_text(Path(out_md), text if note is None else f"{text}\n{note}\n")


def write_results_table(
    scores: list[dict],
    training_tokens: Mapping[str, float | Mapping[str, float]],
    out_csv,
    out_md,
    *,
    intervals: pd.DataFrame | None = None,
    paired: pd.DataFrame | None = None,
    uncertainty_note: str | None = None,
    **options,
) -> pd.DataFrame:
    """Write the results table (`results_frame` with `options`) as CSV (full precision)
    and Markdown (one decimal, with a note on how Avg and ICER are computed, and with
    `intervals` and `paired` differences as `write_frame` prints them); return it."""
    frame = results_frame(scores, training_tokens, **options)
    note = results_note(options.get("icer_decimals"))
    if uncertainty_note:
        note = f"{note}\n\n{uncertainty_note}"
    write_frame(frame, out_csv, out_md, note=note, intervals=intervals, paired=paired)
    return frame


def results_note(icer_decimals: int | None) -> str:
    """How the table's Avg and ICER columns are computed."""
    source = (
        "the exact averages"
        if icer_decimals is None
        else f"the averages as printed ({icer_decimals} decimal(s)), as the paper's Table 2"
    )
    return (
        "Avg: the mean over the languages its header names; the other languages are shown "
        "outside it. ICER: #Tokens (B) / (Avg - the backbone's Avg), in accuracy points, "
        f"from {source}; only where Avg improves."
    )
