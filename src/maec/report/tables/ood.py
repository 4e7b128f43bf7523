"""Table 3: out-of-domain scores, the backbone's as they are and every other model's as its
difference from the backbone, in points (the paper: MMLU 60.85, then "+ CPT" -2.39)."""

import math
from collections.abc import Mapping

import pandas as pd


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
