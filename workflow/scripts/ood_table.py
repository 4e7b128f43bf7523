"""Table 3: the backbone's out-of-domain scores, and every other model's difference, with
bootstrap intervals from the per-item records."""

import json
from pathlib import Path

from maec.report.tables import ood_frame, ood_intervals, read_ood_items, write_frame
from maec.workflow.joblog import log_job_to
from maec.workflow.paths import ood_model

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
scores, items = {}, {}
for path, records in zip(snakemake.input.scores, snakemake.input.records, strict=True):
    tasks = json.loads(Path(path).read_text(encoding="utf-8"))["tasks"]
    label = labels[ood_model(path)]
    scores[label] = {name: task["value"] for name, task in tasks.items()}
    items[label] = read_ood_items(records, {name: task["metric"] for name, task in tasks.items()})
options = snakemake.params.intervals
write_frame(
    ood_frame(scores, labels["backbone"]),
    snakemake.output.csv,
    snakemake.output.md,
    note="The backbone's scores in percent; every other row: points gained over the backbone "
    f"(negative: lost). x ± h: h is half the width of the {100 * options['level']:g} % "
    f"bootstrap interval ({options['resamples']} resamples of the items, seed "
    f"{options['seed']}): the backbone's of its score, every other row's the paired one of "
    "its difference (one draw of items for both models).",
    digits=2,  # as the paper's Table 3
    intervals=ood_intervals(items, labels["backbone"], **options),
)
