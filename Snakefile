# MAEC: multi-lingual ability extraction and combination (see README.md and docs/).
#
#   snakemake --cores 2 --configfile config/demo.yaml --replace-workflow-config --show-failed-logs
#   snakemake --profile slurm results/merged/math.safetensors


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


if IS_DEMO:

    include: "workflow/rules/world.smk"

else:

    include: "workflow/rules/backbone.smk"


if "translation" in config:

    include: "workflow/rules/translate.smk"


include: "workflow/rules/tokenize.smk"
include: "workflow/rules/importance.smk"
include: "workflow/rules/masks.smk"
include: "workflow/rules/cpt.smk"
include: "workflow/rules/deltas.smk"
include: "workflow/rules/combine.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/cards.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/experiment_tables.smk"
include: "workflow/rules/beyond.smk"


rule all:
    default_target: True
    input:
        targets.default_target(config),
