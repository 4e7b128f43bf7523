"""Evaluation: MGSM (native chain-of-thought or direct) and multilingual MMLU.

- `mgsm.evaluate_mgsm`, `mmlu.evaluate_mmlu`: score a model directory, write per-example
  JSONL and a JSON summary (accuracies as fractions in [0, 1]);
- `loaders`: MGSM TSV and exemplars, Okapi JSON and MMLU CSV, validated row by row;
- `extraction`: strict and flexible MGSM answer extraction, numbers compared as numbers;
- `generation`: batched greedy generation and log-likelihood scoring (left padding);
- `languages`: the MGSM labels of the 11 MGSM languages.

Every choice is written down in docs/evaluation.md.
"""

from .loaders import SCIENCE_SUBJECTS, BenchmarkFormatError
from .mgsm import evaluate_mgsm
from .mmlu import evaluate_mmlu

__all__ = ["SCIENCE_SUBJECTS", "BenchmarkFormatError", "evaluate_mgsm", "evaluate_mmlu"]
