"""The variant chosen on dev data, on the test set beside the paper-settings model, with the
interval of its dev Avg and the settings whose dev Avg lies within it."""

import json

import pandas as pd

from maec.report.tables import (
    correctness_from_files,
    interval_frame,
    intervals_note,
    results_frame,
    scores_from_files,
    within_interval,
    write_frame,
)
from maec.workflow.joblog import log_job_to
from maec.workflow.model_names import format_model, parse_model
from maec.workflow.paths import eval_file

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
bootstrap = snakemake.params.intervals
options = snakemake.params.options
bench = snakemake.params.bench
dev_names = {
    model: parse_model(model).variant or "configured"
    for model in (eval_file(path).model for path in snakemake.input.dev_scores)
}
dev_correctness = correctness_from_files(snakemake.input.dev_scores, dev_names)
dev = interval_frame(dev_correctness, {bench: choice["languages"]}, **bootstrap)
dev = dev[dev["lang"] == "avg"].set_index("model")
chosen = dev.loc[variant]
close = within_interval(
    dev["estimate"].drop("configured").to_dict(), variant, chosen.low, chosen.high
)

test_scores = scores_from_files(snakemake.input.scores, labels)
frame = results_frame(test_scores, {}, backbone="Backbone", **options)
frame = frame.dropna(axis=1, how="all")
intervals = interval_frame(
    correctness_from_files(snakemake.input.scores, labels), options.get("averaged"), **bootstrap
)
for name, label in (("configured", labels[configured]), (variant, labels[selected])):
    frame.loc[label, ["dev Avg", "dev low", "dev high"]] = dev.loc[
        name, ["estimate", "low", "high"]
    ].to_numpy(dtype=float)
dev_rows = [
    dict(model=labels[m], column="dev Avg", low=dev.loc[n, "low"], high=dev.loc[n, "high"])
    for m, n in ((configured, "configured"), (selected, variant))
]
runners = ", ".join(f"{name} ({value:.1f})" for name, value in close.items()) or "none"
note = (
    f"{intervals_note(**bootstrap, paired=False)} Settings whose dev Avg lies within the "
    f"selected setting's interval [{chosen.low:.1f}, {chosen.high:.1f}]: {runners}."
)
write_frame(
    frame,
    snakemake.output.csv,
    snakemake.output.md,
    note=note,
    intervals=pd.concat([intervals, pd.DataFrame(dev_rows)], ignore_index=True),
)
