# Model cards: every kept model's README.md (the hub's metadata, with its scores and their
# intervals) and provenance.json (the settings that shaped it, a hash of every file on its
# path, the software). Snakemake allows no output inside another rule's output directory, so
# the two files written into the model's directory are also written to results/cards, the
# outputs Snakemake tracks. A model directory's timestamp is its .snakemake_timestamp, which
# they leave alone: nothing that reads the model reruns. An intermediate on the model's path
# that the run deletes is described by the record its job left beside it.


rule model_card:
    input:
        model=get_model_dir,
        backbone=paths.BACKBONE,
        scores=get_card_scores,
        records=get_card_records,
        similarity=get_card_similarity,
    output:
        card=cards.model_card("{model}", "{seed_dir}"),
        provenance=cards.card_provenance("{model}", "{seed_dir}"),
    log:
        "logs/{seed_dir}cards/{model}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        facts=get_card_facts,
        hub_ids={bench: spec.get("hub") for bench, spec in config["evaluation"].items()},
        intervals=scores.interval_options(config),
        workflow_dir=str(Path(str(workflow.current_basedir)).parents[1]),
        deleted=sorted(intermediates.deleted_templates(config)),
    script:
        "../scripts/model_card.py"
