"""What the tables read: score files, the training runs' token counts, and the dev-set
choice of a merge variant."""

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from maec.io.atomic import write_text
from maec.report.tables.accuracy import metric_of
from maec.workflow.model_names import parse_model
from maec.workflow.paths import eval_file


def scores_from_files(paths: Sequence[str | Path], labels: dict[str, str]) -> list[dict]:
    """Score dicts of `results/eval*/{model}/{bench}_{lang}.json` files, each with its
    table label as "model" (models absent from `labels` keep their own name)."""
    scores = []
    for path in paths:
        score = json.loads(Path(path).read_text(encoding="utf-8"))
        model = eval_file(path).model
        score["model"] = labels.get(model, model)
        scores.append(score)
    return scores


def training_tokens_of(run_dirs: Sequence[str | Path]) -> float:
    """Tokens spent by a set of training runs, read from each run's training.json."""
    total = 0.0
    for run in run_dirs:
        summary = Path(run) / "training.json"
        if not summary.exists():
            raise FileNotFoundError(f"{summary}: a training run without its summary")
        total += float(json.loads(summary.read_text())["tokens"])
    return total


def write_scores_long(
    scores: Sequence[dict], out_csv, intervals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every score in long form: one row per model, benchmark and language (and training
    seed, for scores with a "seed"), all metrics; with `intervals`
    (`maec.report.tables.intervals.interval_frame`, with a `seed` column for seeded scores), the
    bounds `ci_low` and `ci_high` of the table's metric (a fraction, like the metrics)."""
    metrics = ["strict_acc", "flexible_acc", "acc", "acc_norm", "acc_bytes"]  # and the table's
    keys = ["model", "seed", "bench", "lang"] if any("seed" in s for s in scores) else []
    keys = keys or ["model", "bench", "lang"]
    rows = [
        {k: s[k] for k in keys}
        | {"n": s["n"]}
        | {m: s[m] for m in [*metrics, metric_of(s)] if m in s}
        for s in scores
    ]
    frame = pd.DataFrame(rows)
    if intervals is not None:
        bounds = intervals[[*keys, "low", "high"]].rename(
            columns={"low": "ci_low", "high": "ci_high"}
        )
        frame = frame.merge(bounds, on=keys, how="left")
        frame[["ci_low", "ci_high"]] /= 100
    write_text(Path(out_csv), frame.to_csv(index=False))
    return frame


def average_score(
    scores: Sequence[dict], bench: str, languages: Sequence[str] | None = None
) -> float:
    """Mean of the table metric over `languages` (default: the languages of the scores)."""
    by_lang = {s["lang"]: s[metric_of(s)] for s in scores if s["bench"] == bench}
    if not by_lang:
        raise ValueError(f"no {bench} scores to average")
    languages = list(by_lang) if languages is None else list(languages)
    missing = [lang for lang in languages if lang not in by_lang]
    if missing:
        raise ValueError(f"no {bench} scores for {', '.join(missing)} to average")
    return sum(by_lang[lang] for lang in languages) / len(languages)


def select_variant(
    score_paths: Sequence[str | Path],
    variants: Sequence[str],
    bench: str,
    out_json,
    languages: Sequence[str] | None = None,
) -> dict:
    """The merge variant with the best dev average over `languages` (default: every scored
    language; ties: the first in grid order).

    Dev scores only: the test set plays no part in the choice. Scores of the model with
    the configured settings (a model name without a variant) are averaged and recorded as
    "configured", for comparison, but it is not a candidate."""
    by_variant: dict[str, list[dict]] = {}
    for path in score_paths:
        variant = parse_model(eval_file(path).model).variant or "configured"
        by_variant.setdefault(variant, []).append(json.loads(Path(path).read_text()))
    missing = [v for v in variants if v not in by_variant]
    if missing:
        raise ValueError(f"no dev scores for variants {missing}")
    averages = {v: average_score(scores, bench, languages) for v, scores in by_variant.items()}
    best = max(variants, key=lambda v: (averages[v], -variants.index(v)))
    choice = {
        "variant": best,
        "metric": metric_of(by_variant[best][0]),
        "languages": None if languages is None else list(languages),
        "dev_average": averages,
    }
    write_text(Path(out_json), json.dumps(choice, indent=1) + "\n")
    return choice
