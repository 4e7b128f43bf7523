# The paper's experiments as tables and figures, and their target `experiments`: Table 2 and
# its token accounting, Table 3 (out-of-domain tasks), Figure 3 (ablations), Figure 4 (k2
# sweep), Table 8 (share of T per tensor type) and the merge-by-type table, Figure 5b
# (per-layer cosine), and the merge selected on dev data beside the paper's settings.


rule table2:
    input:
        scores=get_table2_scores(),
        records=get_table2_records(),
        training=training_run_dirs(get_table2_training()),
    output:
        csv=report(
            table("table2", "csv"),
            caption="../report/table2.rst",
            category="Table 2",
        ),
        md=table("table2"),
        intervals=table("table2_intervals", "csv"),
        paired=table("table2_paired", "csv"),
        mcnemar=table("table2_mcnemar", "csv"),
    log:
        "logs/tables/table2.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_table2_labels(),
        seeds=get_table2_score_seeds(),
        training_dirs=get_table2_training(),
        order=get_table2_order(),
        options=get_table_options(),
        intervals=get_interval_options(),
        focus=get_table2_focus(),
    script:
        "../scripts/results_table.py"


rule table2_tokens:
    output:
        csv=table("table2_tokens", "csv"),
        md=table("table2_tokens"),
    log:
        "logs/tables/table2_tokens.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        runs=get_token_budget(),
        order=get_table2_order(),
    script:
        "../scripts/token_budget_table.py"


rule table3:
    input:
        scores=get_ood_scores(),
    output:
        csv=report(
            table("table3", "csv"),
            caption="../report/table3.rst",
            category="Table 3: out-of-domain tasks",
        ),
        md=table("table3"),
    log:
        "logs/tables/table3.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_ood_labels(),
    script:
        "../scripts/ood_table.py"


rule ablation:
    input:
        scores=get_ablation_scores,
        records=get_ablation_records,
    output:
        png=report(
            figure("ablation_{ability}"),
            caption="../report/ablation.rst",
            category="Figure 3: ablations",
        ),
        pdf=figure("ablation_{ability}", "pdf"),
        csv=table("ablation_{ability}", "csv"),
        md=table("ablation_{ability}"),
    log:
        "logs/tables/ablation_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_ablation_labels,
        bench=get_ability_bench,
        kind="bars",
        title=get_figure_title,
        options=get_table_options(),
        intervals=get_interval_options(),
    script:
        "../scripts/experiment_figure.py"


rule k2_sweep:
    input:
        scores=get_k2_scores,
        records=get_k2_records,
    output:
        png=report(
            figure("k2_{ability}"),
            caption="../report/k2.rst",
            category="Figure 4: k2",
        ),
        pdf=figure("k2_{ability}", "pdf"),
        csv=table("k2_{ability}", "csv"),
        md=table("k2_{ability}"),
    log:
        "logs/tables/k2_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_k2_labels,
        bench=get_ability_bench,
        kind="k2",
        title=get_figure_title,
        options=get_table_options(),
        intervals=get_interval_options(),
    script:
        "../scripts/experiment_figure.py"


rule table8:
    input:
        scores=get_table8_scores,
        similarity=similarity_table("{ability}"),
    output:
        csv=report(
            table("table8_{ability}", "csv"),
            caption="../report/table8.rst",
            category="Table 8: tensor types in T",
        ),
        md=table("table8_{ability}"),
    log:
        "logs/tables/table8_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_table8_labels,
        bench=get_ability_bench,
        types=EXPERIMENTS["tensor_types"],
        average=get_table8_average,
        all_tensors=TABLE8_ALL,
    script:
        "../scripts/table8.py"


rule merge_by_type:
    input:
        scores=get_merge_by_type_scores,
        similarity=similarity_table("{ability}"),
    output:
        csv=report(
            table("merge_by_type_{ability}", "csv"),
            caption="../report/merge_by_type.rst",
            category="Merging R(A) by tensor type",
        ),
        md=table("merge_by_type_{ability}"),
    log:
        "logs/tables/merge_by_type_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_merge_by_type_labels,
        types=EXPERIMENTS["tensor_types"],
        options=get_table_options(),
    script:
        "../scripts/merge_by_type_table.py"


rule layer_cosine:
    input:
        get_seed_similarity_tables,
    output:
        png=report(
            figure("layer_cosine_{ability}"),
            caption="../report/layer_cosine.rst",
            category="Figure 5b: R(A) and R_Lang per layer",
        ),
        pdf=figure("layer_cosine_{ability}", "pdf"),
        csv=table("layer_cosine_{ability}", "csv"),
    log:
        "logs/tables/layer_cosine_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        title=get_figure_title,
    script:
        "../scripts/layer_cosine_figure.py"


rule selection_table:
    input:
        choice=selection_choice("{ability}"),
        scores=get_selected_scores,
        records=get_selected_records,
        dev_scores=get_selection_dev_scores,
        dev_records=get_selection_dev_records,
    output:
        csv=report(
            table("selection_{ability}", "csv"),
            caption="../report/selection.rst",
            category="Hyper-parameter selection",
        ),
        md=table("selection_{ability}"),
    log:
        "logs/tables/selection_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        options=get_table_options(),
        intervals=get_interval_options(),
        bench=get_ability_bench,
    script:
        "../scripts/selection_table.py"


rule experiments:
    default_target: False
    input:
        get_experiment_outputs(),
