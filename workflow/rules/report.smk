# What the paper shows: the results table (Table 2 layout, with ICER and intervals) and, per ability, where
# R(A) and R_Lang live in the model, how alike they are per tensor type and family, and how
# much of γR(A) survives the rounding of the merged model.


rule results_table:
    input:
        scores=get_all_scores(),
        records=get_all_records(),
        training=training_run_dirs(get_training_dirs()),
    output:
        csv=table("results", "csv"),
        md=table("results", "md"),
        scores=table("scores", "csv"),
        intervals=table("results_intervals", "csv"),
        paired=table("results_paired", "csv"),
        mcnemar=table("results_mcnemar", "csv"),
    log:
        "logs/tables/results.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_model_labels(),
        seeds=get_all_score_seeds(),
        training_dirs=get_training_dirs(),
        options=get_table_options(),
        intervals=get_interval_options(),
    script:
        "../scripts/results_table.py"


rule diagnostics:
    input:
        similarity=similarity_table("{ability}"),
        rounding=merge_rounding("{ability}"),
    output:
        csv=table("diagnostics_{ability}", "csv"),
        md=table("diagnostics_{ability}", "md"),
    log:
        "logs/tables/diagnostics_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/diagnostics.py"
