"""The variant chosen on dev data, on the test set beside the paper-settings model."""

import json

from maec.joblog import log_job_to
from maec.naming import format_model
from maec.tables import results_frame, scores_from_files, write_frame

log_job_to(snakemake.log[0])
choice = json.loads(open(snakemake.input.choice, encoding="utf-8").read())
variant = choice["variant"]
configured = format_model("maec", snakemake.wildcards.ability)
selected = format_model("maec", snakemake.wildcards.ability, variant)
labels = {
    "backbone": "Backbone",
    configured: "MAEC (configured settings)",
    selected: f"MAEC (selected on dev: {variant})",
}
frame = results_frame(
    scores_from_files(snakemake.input.scores, labels),
    {},
    backbone="Backbone",
    **snakemake.params.options,
)
frame = frame.dropna(axis=1, how="all")
dev = choice["dev_average"]
frame.loc[labels[configured], "dev Avg"] = 100 * dev["configured"]
frame.loc[labels[selected], "dev Avg"] = 100 * dev[variant]
write_frame(frame, snakemake.output.csv, snakemake.output.md)
