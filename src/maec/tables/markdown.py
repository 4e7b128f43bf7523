"""Tables as files: CSV with full precision and a Markdown pipe table as the paper prints it."""

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from maec.io.atomic import write_text
from maec.tables.results import TOKENS_COLUMN, results_frame


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


def write_frame(
    frame: pd.DataFrame, out_csv, out_md, note: str | None = None, digits: int = 1
) -> None:
    """A table as CSV (full precision) and Markdown (`digits` decimals); `note` is printed
    under the Markdown table."""
    write_text(Path(out_csv), frame.to_csv())
    text = markdown_table(frame, digits)
    write_text(Path(out_md), text if note is None else f"{text}\n{note}\n")


def write_results_table(
    scores: list[dict],
    training_tokens: Mapping[str, float | Mapping[str, float]],
    out_csv,
    out_md,
    **options,
) -> pd.DataFrame:
    """Write the results table (`results_frame` with `options`) as CSV (full precision)
    and Markdown (one decimal, with a note on how Avg and ICER are computed); return it."""
    frame = results_frame(scores, training_tokens, **options)
    write_frame(frame, out_csv, out_md, note=results_note(options.get("icer_decimals")))
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
