# What the paper shows: the results table (Table 2 layout, with ICER and intervals) and, per
# ability, where R(A) and R_Lang live in the model, how alike they are per tensor type and
# family, and how much of γR(A) survives the rounding of the merged model.


rule results_table:
    input:
        scores=[path for _, path in scores.results_scores(config)],
        records=paths.records_of(path for _, path in scores.results_scores(config)),
        training=scores.training_run_dirs(scores.results_training(config)),
    output:
        csv=paths.table("results", "csv"),
        md=paths.table("results", "md"),
        scores=paths.table("scores", "csv"),
        intervals=paths.table("results_intervals", "csv"),
        paired=paths.table("results_paired", "csv"),
        mcnemar=paths.table("results_mcnemar", "csv"),
    log:
        "logs/tables/results.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=scores.results_labels(config),
        seeds=[seed for seed, _ in scores.results_scores(config)],
        training_dirs=scores.results_training(config),
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
    script:
        "../scripts/results_table.py"


rule diagnostics:
    input:
        similarity=paths.similarity_table("{ability}"),
        rounding=paths.merge_rounding("{ability}"),
    output:
        csv=paths.table("diagnostics_{ability}", "csv"),
        md=paths.table("diagnostics_{ability}", "md"),
    log:
        "logs/tables/diagnostics_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    script:
        "../scripts/diagnostics.py"


rule results_figure:
    input:
        intervals=paths.table("results_intervals", "csv"),
    output:
        png=report(
            paths.figure("results_{ability}"),
            caption="../report/results_figure.rst",
            category="Results",
        ),
        pdf=paths.figure("results_{ability}", "pdf"),
    log:
        "logs/figures/results_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        bench=get_ability_bench,
        level=config["tables"]["intervals"]["level"],
    script:
        "../scripts/results_figure.py"
