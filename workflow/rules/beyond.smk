# Comparisons beyond the paper (docs/beyond.md): F-TV / L-TV with TIES or DARE, Layer
# Swapping, R(A) by reverting instead of masking, several abilities in one model, and their
# table and figure per ability. MAEC with TIES or DARE and the revert variant are merge
# variants (merge_variant, experiments.smk). Every model reuses trained checkpoints.


rule task_vector_combined:
    input:
        backbone=BACKBONE,
        ability_model=get_task_vector_ability_model,
        language_model=get_task_vector_language_model,
    output:
        weights=task_vector_weights("{method}", "{ability}", "{seed}", "{combine}"),
        model=directory(
            task_vector_model_dir("{method}", "{ability}", "{seed}", "{combine}")
        ),
    log:
        "logs/{seed}baselines/tv-{combine}/{method}_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        scale=EXPERIMENTS["baselines"]["task_vector_scale"],
        settings=get_combined_task_vector_settings,
    script:
        "../scripts/task_vector_combined.py"


rule layer_swap:
    input:
        backbone=BACKBONE,
        ability_model=get_layer_swap_ability_model,
        language_model=get_layer_swap_language_model,
    output:
        weights=layer_swap_path("{ability}", ".safetensors", "{seed}"),
        model=directory(layer_swap_path("{ability}", ".hf", "{seed}")),
    log:
        "logs/{seed}baselines/layer-swap/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        bottom=BEYOND["layer_swap"]["bottom"],
        top=BEYOND["layer_swap"]["top"],
        transition=BEYOND["layer_swap"]["transition"],
    script:
        "../scripts/layer_swap.py"


rule ability_weights_revert:
    input:
        unpack(get_revert_inputs),
    output:
        ability_delta("{ability}", "deltas", "ability-revert"),
    log:
        "logs/deltas/ability_revert_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        alpha=config["ability_weights"]["alpha"],
        beta=config["ability_weights"]["beta"],
        revert=get_revert_settings(),
        dtype=config["deltas"]["dtype"],
        delta_format=config["deltas"]["format"],
    script:
        "../scripts/revert_ability_weights.py"


rule joint_merge:
    input:
        unpack(get_joint_inputs),
    output:
        weights=merged_weights("{abilities}"),
        model=directory(merged_model_dir("{abilities}")),
    log:
        "logs/merge/{abilities}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        gamma=get_joint_gamma,
        eta=config["merge"]["eta"],
        dtype=config["merge"]["dtype"],
        mu=get_mu(),
    script:
        "../scripts/joint_merge.py"


rule beyond_table:
    input:
        scores=get_beyond_scores,
        records=get_beyond_records,
        training=get_beyond_training_dirs,
    output:
        csv=report(
            table("beyond_{ability}", "csv"),
            caption="../report/beyond.rst",
            category="Beyond the paper",
        ),
        md=table("beyond_{ability}"),
        intervals=table("beyond_{ability}_intervals", "csv"),
        paired=table("beyond_{ability}_paired", "csv"),
        mcnemar=table("beyond_{ability}_mcnemar", "csv"),
    log:
        "logs/tables/beyond_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_beyond_labels,
        seeds=get_beyond_score_seeds,
        training_dirs=get_beyond_training,
        order=get_beyond_order,
        options=get_table_options(),
        intervals=get_interval_options(),
        focus=LABELS["maec"],
    script:
        "../scripts/results_table.py"


rule beyond_figure:
    input:
        scores=get_beyond_scores,
        records=get_beyond_records,
    output:
        png=report(
            figure("beyond_{ability}"),
            caption="../report/beyond_figure.rst",
            category="Beyond the paper",
        ),
        pdf=figure("beyond_{ability}", "pdf"),
        csv=table("beyond_{ability}_averages", "csv"),
        md=table("beyond_{ability}_averages"),
    log:
        "logs/tables/beyond_figure_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        labels=get_beyond_labels,
        bench=get_ability_bench,
        kind="bars",
        title=get_figure_title,
        options=get_table_options(),
        intervals=get_interval_options(),
    script:
        "../scripts/experiment_figure.py"
