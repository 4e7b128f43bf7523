"""The variant chosen on dev data, on the test set beside the paper-settings model."""

import json

from maec.joblog import log_job_to
from maec.tables import results_frame, scores_from_files, write_frame

log_job_to(snakemake.log[0])
choice = json.loads(open(snakemake.input.choice, encoding="utf-8").read())
ability = snakemake.wildcards.ability
labels = {
    "backbone": "Backbone",
    f"maec_{ability}": "MAEC (configured settings)",
    f"maec_{ability}.{choice['variant']}": f"MAEC (selected on dev: {choice['variant']})",
}
frame = results_frame(scores_from_files(snakemake.input.scores, labels), {}, backbone="Backbone")
frame = frame.dropna(axis=1, how="all")
dev = choice["dev_average"]
frame.loc[labels[f"maec_{ability}"], "dev Avg"] = 100 * dev["configured"]
frame.loc[labels[f"maec_{ability}.{choice['variant']}"], "dev Avg"] = 100 * dev[choice["variant"]]
write_frame(frame, snakemake.output.csv, snakemake.output.md)
