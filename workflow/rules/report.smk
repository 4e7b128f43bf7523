# What the paper shows: the results table (Table 2 layout, with ICER) and, per ability, where
# R(A) and R_Lang live in the model and how alike they are per tensor group.


rule results_table:
    input:
        scores=get_all_scores(),
        training=[d for dirs in get_training_dirs().values() for d in dirs],
    output:
        csv="results/tables/results.csv",
        md="results/tables/results.md",
        scores="results/tables/scores.csv",
    log:
        "logs/tables/results.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_model_labels(),
        training_dirs=get_training_dirs(),
    script:
        "../scripts/results_table.py"


rule diagnostics:
    input:
        "results/similarity/{ability}.tsv",
    output:
        csv="results/tables/diagnostics_{ability}.csv",
        md="results/tables/diagnostics_{ability}.md",
    log:
        "logs/tables/diagnostics_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/diagnostics.py"


rule table2:
    input:
        scores=get_table2_scores(),
        training=[d for dirs in get_table2_training().values() for d in dirs],
    output:
        csv=report(
            "results/tables/table2.csv",
            caption="../report/table2.rst",
            category="Table 2",
        ),
        md="results/tables/table2.md",
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
            "results/figures/ablation_{ability}.png",
            caption="../report/ablation.rst",
            category="Figure 3: ablations",
        ),
        pdf="results/figures/ablation_{ability}.pdf",
        csv="results/tables/ablation_{ability}.csv",
        md="results/tables/ablation_{ability}.md",
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
            "results/figures/k2_{ability}.png",
            caption="../report/k2.rst",
            category="Figure 4: k2",
        ),
        pdf="results/figures/k2_{ability}.pdf",
        csv="results/tables/k2_{ability}.csv",
        md="results/tables/k2_{ability}.md",
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
        similarity="results/similarity/{ability}.tsv",
    output:
        csv=report(
            "results/tables/tensor_types_{ability}.csv",
            caption="../report/tensor_types.rst",
            category="Table 8: tensor types",
        ),
        md="results/tables/tensor_types_{ability}.md",
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
        "results/similarity/{ability}.tsv",
    output:
        png=report(
            "results/figures/layer_cosine_{ability}.png",
            caption="../report/layer_cosine.rst",
            category="Figure 5b: R(A) and R_Lang per layer",
        ),
        pdf="results/figures/layer_cosine_{ability}.pdf",
        csv="results/tables/layer_cosine_{ability}.csv",
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
        choice="results/selection/{ability}.json",
        scores=get_selected_scores,
    output:
        csv=report(
            "results/tables/selection_{ability}.csv",
            caption="../report/selection.rst",
            category="Hyper-parameter selection",
        ),
        md="results/tables/selection_{ability}.md",
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
