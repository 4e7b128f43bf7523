"""Table 3: the backbone's out-of-domain scores, and every other model's difference."""

import json
from pathlib import Path

from maec.report.tables import ood_frame, write_frame
from maec.workflow.joblog import log_job_to
from maec.workflow.paths import ood_model

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
scores = {}
for path in snakemake.input.scores:
    tasks = json.loads(Path(path).read_text(encoding="utf-8"))["tasks"]
    scores[labels[ood_model(path)]] = {name: task["value"] for name, task in tasks.items()}
write_frame(
    ood_frame(scores, labels["backbone"]),
    snakemake.output.csv,
    snakemake.output.md,
    note="The backbone's scores in percent; every other row: points gained over the backbone "
    "(negative: lost).",
    digits=2,  # as the paper's Table 3
)
