# The paper's experiments as tables and figures, and their target `experiments`: Table 2 and
# its token accounting, Table 3 (out-of-domain tasks), Figure 3 (ablations), Figure 4 (k2
# sweep), Table 8 (share of T per tensor type) and the merge-by-type table, Figure 5 and
# Table 6, the per-layer cosine of R(A) and R_Lang, and the merge selected on dev data beside
# the paper's settings.


rule table2:
    input:
        scores=[path for _, path in studies.table2_scores(config)],
        records=paths.records_of(path for _, path in studies.table2_scores(config)),
        training=scores.training_run_dirs(studies.table2_training(config)),
    output:
        csv=report(
            paths.table("table2", "csv"),
            caption="../report/table2.rst",
            category="Table 2",
        ),
        md=paths.table("table2"),
        intervals=paths.table("table2_intervals", "csv"),
        paired=paths.table("table2_paired", "csv"),
        mcnemar=paths.table("table2_mcnemar", "csv"),
    log:
        "logs/tables/table2.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=studies.table2_labels(config),
        seeds=[seed for seed, _ in studies.table2_scores(config)],
        training_dirs=studies.table2_training(config),
        order=studies.table2_order(config),
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
        focus=studies.table2_focus(config),
    script:
        "../scripts/results_table.py"


rule table2_tokens:
    output:
        csv=paths.table("table2_tokens", "csv"),
        md=paths.table("table2_tokens"),
    log:
        "logs/tables/table2_tokens.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        runs=studies.token_budget(config),
        order=studies.table2_order(config),
    script:
        "../scripts/token_budget_table.py"


rule table3:
    input:
        scores=[paths.ood_scores(model) for model in studies.ood_models(config)],
        records=[paths.ood_records(model) for model in studies.ood_models(config)],
    output:
        csv=report(
            paths.table("table3", "csv"),
            caption="../report/table3.rst",
            category="Table 3: out-of-domain tasks",
        ),
        md=paths.table("table3"),
    log:
        "logs/tables/table3.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=studies.ood_labels(config),
        intervals=scores.interval_options(config),
    script:
        "../scripts/ood_table.py"


rule ablation:
    input:
        scores=get_ablation_scores,
        records=get_ablation_records,
    output:
        png=report(
            paths.figure("ablation_{ability}"),
            caption="../report/ablation.rst",
            category="Figure 3: ablations",
        ),
        pdf=paths.figure("ablation_{ability}", "pdf"),
        csv=paths.table("ablation_{ability}", "csv"),
        md=paths.table("ablation_{ability}"),
    log:
        "logs/tables/ablation_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=get_ablation_labels,
        bench=get_ability_bench,
        kind="bars",
        title=get_figure_title,
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
    script:
        "../scripts/experiment_figure.py"


rule k2_sweep:
    input:
        scores=get_k2_scores,
        records=get_k2_records,
    output:
        png=report(
            paths.figure("k2_{ability}"),
            caption="../report/k2.rst",
            category="Figure 4: k2",
        ),
        pdf=paths.figure("k2_{ability}", "pdf"),
        csv=paths.table("k2_{ability}", "csv"),
        md=paths.table("k2_{ability}"),
    log:
        "logs/tables/k2_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=get_k2_labels,
        bench=get_ability_bench,
        kind="k2",
        title=get_figure_title,
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
    script:
        "../scripts/experiment_figure.py"


rule table8:
    input:
        scores=get_table8_scores,
        similarity=paths.similarity_table("{ability}"),
    output:
        csv=report(
            paths.table("table8_{ability}", "csv"),
            caption="../report/table8.rst",
            category="Table 8: tensor types in T",
        ),
        md=paths.table("table8_{ability}"),
    log:
        "logs/tables/table8_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=get_table8_labels,
        bench=get_ability_bench,
        types=config["experiments"]["tensor_types"],
        average=get_table8_average,
        all_tensors=studies.TABLE8_ALL,
    script:
        "../scripts/table8.py"


rule merge_by_type:
    input:
        scores=get_merge_by_type_scores,
        similarity=paths.similarity_table("{ability}"),
    output:
        csv=report(
            paths.table("merge_by_type_{ability}", "csv"),
            caption="../report/merge_by_type.rst",
            category="Merging R(A) by tensor type",
        ),
        md=paths.table("merge_by_type_{ability}"),
    log:
        "logs/tables/merge_by_type_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=get_merge_by_type_labels,
        types=config["experiments"]["tensor_types"],
        options=scores.table_options(config),
    script:
        "../scripts/merge_by_type_table.py"


rule layer_cosine_ra_rlang:
    input:
        get_seed_similarity_tables,
    output:
        png=report(
            paths.figure("layer_cosine_ra_rlang_{ability}"),
            caption="../report/layer_cosine_ra_rlang.rst",
            category="Beyond the paper",
        ),
        pdf=paths.figure("layer_cosine_ra_rlang_{ability}", "pdf"),
        csv=paths.table("layer_cosine_ra_rlang_{ability}", "csv"),
    log:
        "logs/tables/layer_cosine_ra_rlang_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        title=get_figure_title,
    script:
        "../scripts/layer_cosine_ra_rlang.py"


rule figure5a:
    input:
        masked=[paths.cpt_dir(run) for run in studies.figure5_runs(config)],
        full=[paths.cpt_dir(run, "deltas-full") for run in studies.figure5_runs(config)],
    output:
        png=report(
            paths.figure("figure5a"),
            caption="../report/figure5.rst",
            category="Figure 5",
        ),
        pdf=paths.figure("figure5a", "pdf"),
        csv=paths.table("figure5a", "csv"),
    log:
        "logs/tables/figure5a.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        runs=studies.figure5_runs(config),
    script:
        "../scripts/figure5a.py"


rule update_similarity:
    input:
        backbone=paths.BACKBONE,
        runs=[paths.importance_dir(c) for c in studies.figure5_corpora(config)],
    output:
        layers_png=report(
            paths.figure("figure5b"),
            caption="../report/figure5.rst",
            category="Figure 5",
        ),
        layers_pdf=paths.figure("figure5b", "pdf"),
        png=report(
            paths.figure("figure5c"),
            caption="../report/figure5.rst",
            category="Figure 5",
        ),
        pdf=paths.figure("figure5c", "pdf"),
        csv=paths.table("update_similarity", "csv"),
    log:
        "logs/tables/update_similarity.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        corpora=studies.figure5_corpora(config),
        pairs=studies.figure5_pairs(config),
    script:
        "../scripts/update_similarity.py"


rule table6:
    input:
        summaries=[paths.token_summary(c) for c in studies.table6_corpora(config)],
        scores=studies.table6_scores(config),
    output:
        corpora=report(
            paths.table("table6_corpora", "csv"),
            caption="../report/table6.rst",
            category="Table 6: data",
        ),
        benchmarks=paths.table("table6_benchmarks", "csv"),
        md=paths.table("table6"),
    log:
        "logs/tables/table6.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        corpora=studies.table6_corpora(config),
    script:
        "../scripts/table6.py"


rule selection_table:
    input:
        choice=paths.selection_choice("{ability}"),
        scores=get_selected_scores,
        records=get_selected_records,
        dev_scores=get_selection_dev_scores,
        dev_records=get_selection_dev_records,
    output:
        csv=report(
            paths.table("selection_{ability}", "csv"),
            caption="../report/selection.rst",
            category="Hyper-parameter selection",
        ),
        md=paths.table("selection_{ability}"),
    log:
        "logs/tables/selection_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
        bench=get_ability_bench,
    script:
        "../scripts/selection_table.py"


rule experiments:
    default_target: False
    input:
        targets.experiments_target(config),
