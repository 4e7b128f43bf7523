"""Table 2's numbers from per-language scores: accuracy cells, the average Avg and ICER.

Pure functions, no files and no formatting, so that the workflow's tables and the check
against the paper's own Table 2 run the same arithmetic (`docs/method.md`):
Avg is the mean over the averaged languages (the paper: ES, BN, TE), ICER the training
tokens in billions per accuracy point that Avg gains over the backbone's, given only where
Avg improves.
"""

from collections.abc import Mapping, Sequence

BENCHES = {"mgsm": "Math", "mmlu": "Science"}
DEFAULT_METRICS = {"mgsm": "flexible_acc", "mmlu": "acc"}

Cell = tuple[str, str, str]  # (model, bench, lang)


def accuracy_cells(
    scores: Sequence[Mapping], metrics: Mapping[str, str] | None = None
) -> dict[Cell, float]:
    """(model, bench, lang) -> accuracy in percent, from score dicts with a "model" key.

    `metrics`: bench -> the score key to read (default MGSM flexible_acc, MMLU acc). A score
    without a key, of an unknown bench or without its metric, and two scores for one cell,
    are errors naming the model, bench and language."""
    metrics = {**DEFAULT_METRICS, **(metrics or {})}
    cells: dict[Cell, float] = {}
    for score in scores:
        for key in ("model", "bench", "lang"):
            if key not in score:
                raise ValueError(f"score {score!r} has no {key!r}")
        if score["bench"] not in BENCHES:
            raise ValueError(f"model {score['model']!r}: unknown bench {score['bench']!r}")
        metric = metrics[score["bench"]]
        if metric not in score:
            raise ValueError(
                f"model {score['model']!r}, {score['bench']} {score['lang']}: no metric {metric!r}"
            )
        cell = (score["model"], score["bench"], score["lang"])
        if cell in cells:
            raise ValueError(f"two scores for model {cell[0]!r}, {cell[1]} {cell[2]}")
        cells[cell] = 100.0 * score[metric]
    return cells


def language_average(
    cells: Mapping[Cell, float], model: str, bench: str, languages: Sequence[str]
) -> float:
    """Avg: the mean of a model's accuracies (percent) over `languages`."""
    if not languages:
        raise ValueError(f"{bench}: no languages to average")
    missing = [lang for lang in languages if (model, bench, lang) not in cells]
    if missing:
        raise ValueError(f"model {model!r} lacks {bench} scores for {', '.join(missing)}")
    return sum(cells[(model, bench, lang)] for lang in languages) / len(languages)


def printed(value: float, decimals: int | None) -> float:
    """`value` as a table with `decimals` decimals prints it (None: unchanged)."""
    return value if decimals is None else float(f"{value:.{decimals}f}")


def icer(tokens_billions: float, average: float, backbone_average: float) -> float | None:
    """Tokens (billions) per accuracy point gained; None when the average does not improve."""
    gain = average - backbone_average
    return tokens_billions / gain if gain > 0 else None
