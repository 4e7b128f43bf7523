"""Table 3: out-of-domain scores, the backbone's as they are and every other model's as its
difference from the backbone, in points (the paper: MMLU 60.85, then "+ CPT" -2.39), with
bootstrap intervals from the harness's per-item records."""

import json
import math
from collections.abc import Mapping

import pandas as pd

from maec.report.stats import (
    LEVEL,
    RESAMPLES,
    SEED,
    accuracy_interval,
    paired_difference_interval,
)


def ood_frame(scores: Mapping[str, Mapping[str, float]], backbone: str) -> pd.DataFrame:
    """`scores`: row label -> task -> score as a fraction (every row with the same tasks);
    the backbone's row in percent, the others in points gained (negative: lost)."""
    if backbone not in scores:
        raise ValueError(f"no out-of-domain scores for the backbone {backbone!r}")
    tasks = list(scores[backbone])
    rows = {}
    for label, by_task in scores.items():
        if sorted(by_task) != sorted(tasks):
            raise ValueError(
                f"{label!r} has out-of-domain scores for {sorted(by_task)}, "
                f"the backbone for {sorted(tasks)}"
            )
        rows[label] = {
            task: 100 * by_task[task] - (0 if label == backbone else 100 * scores[backbone][task])
            for task in tasks
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "Model"
    if frame.isna().any().any() or not all(math.isfinite(v) for v in frame.to_numpy().ravel()):
        raise ValueError("an out-of-domain score is not a finite number")
    return frame


def ood_intervals(
    items: Mapping[str, Mapping[str, Mapping[str, float]]],
    backbone: str,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> pd.DataFrame:
    """The intervals of `ood_frame`'s cells, long (model, column, low, high) in its units:
    the backbone's score with its percentile bootstrap interval, every other row's points over
    the backbone with the paired bootstrap interval (one draw of items for both models).
    `items`: row label -> task -> {item: its metric value}, the harness's per-item records.
    A task whose item values are not all in [0, 1] (a metric that is not a mean of per-item
    verdicts) gets no interval."""
    rows = []
    for label, by_task in items.items():
        for task, values in by_task.items():
            base = items[backbone][task]
            if not all(0 <= v <= 1 for v in [*values.values(), *base.values()]):
                continue
            if sorted(values) != sorted(base):
                raise ValueError(
                    f"out-of-domain task {task!r}: {label!r} and the backbone were scored on "
                    f"different items ({len(values)} and {len(base)})"
                )
            order = sorted(values)
            settings = dict(resamples=resamples, seed=seed, level=level)
            if label == backbone:
                interval = accuracy_interval([values[i] for i in order], **settings)
            else:
                interval = paired_difference_interval(
                    {"": [values[i] for i in order]}, {"": [base[i] for i in order]}, **settings
                )
            rows.append(
                dict(model=label, column=task, low=100 * interval.low, high=100 * interval.high)
            )
    return pd.DataFrame(rows, columns=["model", "column", "low", "high"])


def read_ood_items(path, metrics: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """task -> {item: value} from a model's per-item records (`maec.evaluation.ood`), the
    value of each task's metric (`metrics`: task -> metric)."""
    items: dict[str, dict[str, float]] = {task: {} for task in metrics}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            record = json.loads(line)
            task = record.get("task")
            if task not in metrics or metrics[task] not in record:
                raise ValueError(
                    f"{path}: line {number} is not a record of the tasks {sorted(metrics)} "
                    "with their metric"
                )
            items[task][record["item"]] = float(record[metrics[task]])
    return items
