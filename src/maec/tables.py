"""The results table of the paper (Table 2 layout) with the incremental cost-effectiveness ratio.

Rows are models; for each benchmark (math = MGSM, science = MMLU) the columns are the
accuracy per language and their average, in percent, and ICER: training tokens in
billions per accuracy point that the average gains over the backbone (lower is better),
given only where the average improves (see `../shared/METHOD.md`).
"""

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from maec.io.atomic import write_text
from maec.naming import parse_model

log = logging.getLogger(__name__)

BENCHES = {"mgsm": "Math", "mmlu": "Science"}
DEFAULT_METRICS = {"mgsm": "flexible_acc", "mmlu": "acc"}
TOKENS_COLUMN = "#Tokens (B)"


def icer(tokens_billions: float, average: float, backbone_average: float) -> float | None:
    """Tokens (billions) per accuracy point gained; None when the average does not improve."""
    gain = average - backbone_average
    return tokens_billions / gain if gain > 0 else None


def _language_order(
    scores: Sequence[dict], bench: str, languages: Sequence[str] | None
) -> list[str]:
    present = list(dict.fromkeys(s["lang"] for s in scores if s["bench"] == bench))
    if languages is None:
        return present
    return [lang for lang in languages if lang in present]


def results_frame(
    scores: Sequence[dict],
    training_tokens: dict[str, float],
    *,
    backbone: str = "backbone",
    metrics: dict[str, str] | None = None,
    languages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The table as a DataFrame (percent; NaN where a value does not apply).

    `scores`: score dicts of `evaluate_mgsm` / `evaluate_mmlu` with a "model" key;
    `training_tokens`: model -> number of training tokens (not billions);
    `metrics`: bench -> the score key the table shows (default MGSM flexible_acc, MMLU acc).
    """
    metrics = {**DEFAULT_METRICS, **(metrics or {})}
    values: dict[tuple[str, str, str], float] = {}
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
        if cell in values:
            raise ValueError(f"two scores for model {cell[0]!r}, {cell[1]} {cell[2]}")
        values[cell] = 100.0 * score[metric]

    models = list(dict.fromkeys(s["model"] for s in scores))
    if backbone not in models:
        raise ValueError(f"no scores for the backbone {backbone!r}; models: {', '.join(models)}")
    models.remove(backbone)
    models.insert(0, backbone)

    rows = {
        m: {TOKENS_COLUMN: training_tokens[m] / 1e9 if m in training_tokens else math.nan}
        for m in models
    }
    for bench, domain in BENCHES.items():
        langs = _language_order(scores, bench, languages)
        if not langs:
            continue
        averages = {}
        for model in models:
            have = [lang for lang in langs if (model, bench, lang) in values]
            if have and len(have) < len(langs):
                missing = sorted(set(langs) - set(have))
                raise ValueError(f"model {model!r} lacks {bench} scores for {', '.join(missing)}")
            for lang in langs:
                rows[model][f"{domain} {lang.upper()}"] = values.get((model, bench, lang), math.nan)
            averages[model] = (
                sum(values[(model, bench, lang)] for lang in langs) / len(langs)
                if have
                else math.nan
            )
            rows[model][f"{domain} Avg"] = averages[model]
        if math.isnan(averages[backbone]):
            raise ValueError(f"the backbone {backbone!r} has no {bench} scores")
        for model in models:
            value = None
            if model != backbone and not math.isnan(averages[model]):
                tokens = rows[model][TOKENS_COLUMN]
                if math.isnan(tokens):
                    if averages[model] > averages[backbone]:
                        log.warning(
                            "no training tokens for %s: its %s ICER is left empty", model, domain
                        )
                else:
                    value = icer(tokens, averages[model], averages[backbone])
            rows[model][f"{domain} ICER"] = math.nan if value is None else value
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "Model"
    return frame


def markdown_table(frame: pd.DataFrame, digits: int = 1) -> str:
    """Pipe table with `digits` decimals and "-" for empty cells (as the paper's table)."""

    def cell(value, column) -> str:
        if isinstance(value, float) and math.isnan(value):
            return "-"
        small = column == TOKENS_COLUMN or column.endswith(" ICER")
        if small and 0 < value < 1:  # demo runs spend thousandths of a billion tokens
            return f"{value:.2g}"
        return f"{value:.{digits}f}"

    header = [frame.index.name, *frame.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|",
    ]
    for model, row in frame.iterrows():
        lines.append("| " + " | ".join([str(model), *(cell(v, c) for c, v in row.items())]) + " |")
    return "\n".join(lines) + "\n"


def write_results_table(
    scores: list[dict],
    training_tokens: dict[str, float],
    out_csv,
    out_md,
    *,
    backbone: str = "backbone",
    metrics: dict[str, str] | None = None,
    languages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Write the results table as CSV (full precision) and Markdown (one decimal); return it."""
    frame = results_frame(
        scores, training_tokens, backbone=backbone, metrics=metrics, languages=languages
    )
    write_text(Path(out_csv), frame.to_csv())
    write_text(Path(out_md), markdown_table(frame))
    return frame


def training_tokens_of(run_dirs: Sequence[str | Path]) -> float:
    """Tokens spent by a set of training runs, read from each run's training.json."""
    total = 0.0
    for run in run_dirs:
        summary = Path(run) / "training.json"
        if not summary.exists():
            raise FileNotFoundError(f"{summary}: a training run without its summary")
        total += float(json.loads(summary.read_text())["tokens"])
    return total


def write_scores_long(scores: Sequence[dict], out_csv) -> pd.DataFrame:
    """Every score in long form: one row per model, benchmark and language, all metrics."""
    metrics = ["strict_acc", "flexible_acc", "acc", "acc_norm", "acc_bytes"]
    rows = [
        {"model": s["model"], "bench": s["bench"], "lang": s["lang"], "n": s["n"]}
        | {m: s[m] for m in metrics if m in s}
        for s in scores
    ]
    frame = pd.DataFrame(rows)
    write_text(Path(out_csv), frame.to_csv(index=False))
    return frame


def scores_from_files(paths: Sequence[str | Path], labels: dict[str, str]) -> list[dict]:
    """Score dicts of `results/eval*/{model}/{bench}_{lang}.json` files, each with its
    table label as "model" (models absent from `labels` keep their own name)."""
    scores = []
    for path in paths:
        score = json.loads(Path(path).read_text(encoding="utf-8"))
        model = Path(path).parent.name
        score["model"] = labels.get(model, model)
        scores.append(score)
    return scores


def average_score(scores: Sequence[dict], bench: str) -> float:
    """Mean of the table metric over the languages of the given scores."""
    metric = DEFAULT_METRICS[bench]
    values = [s[metric] for s in scores if s["bench"] == bench]
    if not values:
        raise ValueError(f"no {bench} scores to average")
    return sum(values) / len(values)


def select_variant(
    score_paths: Sequence[str | Path], variants: Sequence[str], bench: str, out_json
) -> dict:
    """The merge variant with the best dev average (ties: the first in grid order).

    Dev scores only: the test set plays no part in the choice. Scores of the model with
    the configured settings (a model name without a variant) are averaged and recorded as
    "configured", for comparison, but it is not a candidate."""
    by_variant: dict[str, list[dict]] = {}
    for path in score_paths:
        variant = parse_model(Path(path).parent.name).variant or "configured"
        by_variant.setdefault(variant, []).append(json.loads(Path(path).read_text()))
    missing = [v for v in variants if v not in by_variant]
    if missing:
        raise ValueError(f"no dev scores for variants {missing}")
    averages = {v: average_score(scores, bench) for v, scores in by_variant.items()}
    best = max(variants, key=lambda v: (averages[v], -variants.index(v)))
    choice = {"variant": best, "metric": DEFAULT_METRICS[bench], "dev_average": averages}
    write_text(Path(out_json), json.dumps(choice, indent=1) + "\n")
    return choice


def write_frame(frame: pd.DataFrame, out_csv, out_md) -> None:
    """A table as CSV (full precision) and Markdown (one decimal)."""
    write_text(Path(out_csv), frame.to_csv())
    write_text(Path(out_md), markdown_table(frame))
