# The paper's experiments as tables and figures, and their target `experiments`: Table 2,
# Figure 3 (ablations), Figure 4 (k2 sweep), Table 8 (tensor types), Figure 5b (per-layer
# cosine), and the merge selected on dev data beside the paper's settings.


rule table2:
    input:
        scores=get_table2_scores(),
        training=[d for dirs in get_table2_training().values() for d in dirs],
    output:
        csv=report(
            table("table2", "csv"),
            caption="../report/table2.rst",
            category="Table 2",
        ),
        md=table("table2"),
    log:
        "logs/tables/table2.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_table2_labels(),
        training_dirs=get_table2_training(),
        order=list(TABLE2.values()),
    script:
        "../scripts/results_table.py"


rule ablation:
    input:
        scores=get_ablation_scores,
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
    script:
        "../scripts/experiment_figure.py"


rule k2_sweep:
    input:
        scores=get_k2_scores,
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
    script:
        "../scripts/experiment_figure.py"


rule tensor_types:
    input:
        scores=get_type_scores,
        similarity=similarity_table("{ability}"),
    output:
        csv=report(
            table("tensor_types_{ability}", "csv"),
            caption="../report/tensor_types.rst",
            category="Table 8: tensor types",
        ),
        md=table("tensor_types_{ability}"),
    log:
        "logs/tables/tensor_types_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_type_labels,
        types=EXPERIMENTS["tensor_types"],
    script:
        "../scripts/tensor_types_table.py"


rule layer_cosine:
    input:
        similarity_table("{ability}"),
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
    script:
        "../scripts/selection_table.py"


rule experiments:
    default_target: False
    input:
        get_experiment_outputs(),
