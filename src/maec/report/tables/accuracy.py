"""Table 2's numbers from per-language scores: accuracy cells, the average Avg and ICER.

Pure functions, no files and no formatting, so that the workflow's tables and the check
against the paper's own Table 2 run the same arithmetic (`docs/method.md`):
Avg is the mean over the averaged languages (the paper: ES, BN, TE), ICER the training
tokens in billions per accuracy point that Avg gains over the backbone's, given only where
Avg improves.

A benchmark's columns are headed by its domain: Math for MGSM, Science for MMLU, and its
own name for a benchmark scored through lm-evaluation-harness tasks, whose score files
name the metric they report (`metric`).
"""

from collections.abc import Iterable, Mapping, Sequence

BENCHES = {"mgsm": "Math", "mmlu": "Science"}
DEFAULT_METRICS = {"mgsm": "flexible_acc", "mmlu": "acc"}

Cell = tuple[str, str, str]  # (model, bench, lang)


def domain(bench: str) -> str:
    """The header of a benchmark's columns: Math, Science, or the benchmark's own name."""
    return BENCHES.get(bench, bench)


def ordered_benches(benches: Iterable[str]) -> list[str]:
    """The benchmarks of a table in the order of its columns: as they first appear (the
    workflow lists scores in the order of the config's abilities)."""
    return list(dict.fromkeys(benches))


def metric_of(score: Mapping, metrics: Mapping[str, str] | None = None) -> str:
    """The score key a table reads: `metrics[bench]` if given, MGSM's flexible_acc, MMLU's
    acc, or the metric a score file names (a benchmark of lm-evaluation-harness tasks)."""
    bench = score["bench"]
    metric = (metrics or {}).get(bench) or DEFAULT_METRICS.get(bench) or score.get("metric")
    if metric is None:
        raise ValueError(
            f"model {score.get('model')!r}: a {bench} score names no metric, and {bench} is "
            f"not a built-in benchmark ({', '.join(BENCHES)})"
        )
    return metric


def accuracy_cells(
    scores: Sequence[Mapping], metrics: Mapping[str, str] | None = None
) -> dict[Cell, float]:
    """(model, bench, lang) -> accuracy in percent, from score dicts with a "model" key.

    `metrics`: bench -> the score key to read (default `metric_of`). A score without a key
    or without its metric, and two scores for one cell, are errors naming the model, bench
    and language."""
    cells: dict[Cell, float] = {}
    for score in scores:
        for key in ("model", "bench", "lang"):
            if key not in score:
                raise ValueError(f"score {score!r} has no {key!r}")
        metric = metric_of(score, metrics)
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
