# Comparisons beyond the paper (docs/beyond.md): F-TV / L-TV with TIES or DARE, Layer
# Swapping, R(A) by reverting instead of masking, several abilities in one model, and their
# table and figure per ability. MAEC with TIES or DARE and the revert variant are merge
# variants (merge_variant, experiments.smk). Every model reuses trained checkpoints; the
# models built here only to be scored are deleted after use when keep_intermediates is false.


rule task_vector_combined:
    input:
        unpack(get_task_vector_experts),
    output:
        weights=intermediate(
            paths.task_vector_path(
                "{tuning}", "{ability}", ".safetensors", "{seed_dir}", "{merge_method}"
            )
        ),
        model=intermediate(
            directory(
                paths.task_vector_path(
                    "{tuning}", "{ability}", ".hf", "{seed_dir}", "{merge_method}"
                )
            )
        ),
    log:
        "logs/{seed_dir}baselines/tv-{merge_method}/{tuning}_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        scale=config["experiments"]["baselines"]["task_vector_scale"],
        settings=get_merge_method_settings,
    script:
        "../scripts/task_vector_combined.py"


rule layer_swap:
    input:
        unpack(get_layer_swap_experts),
    output:
        weights=intermediate(
            paths.layer_swap_path("{ability}", ".safetensors", "{seed_dir}")
        ),
        model=intermediate(
            directory(paths.layer_swap_path("{ability}", ".hf", "{seed_dir}"))
        ),
    log:
        "logs/{seed_dir}baselines/layer-swap/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        bottom=config["experiments"]["beyond"]["layer_swap"]["bottom"],
        top=config["experiments"]["beyond"]["layer_swap"]["top"],
        transition=config["experiments"]["beyond"]["layer_swap"]["transition"],
    script:
        "../scripts/layer_swap.py"


rule ability_weights_revert:
    input:
        unpack(get_revert_inputs),
    output:
        intermediate(paths.ability_delta("{ability}", "deltas", "ability-revert")),
    log:
        "logs/deltas/ability_revert_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        **jobs.precision_params(config),
        alpha=config["ability_weights"]["alpha"],
        beta=config["ability_weights"]["beta"],
        revert=variants.revert_settings(config),
        dtype=config["deltas"]["dtype"],
        delta_format=config["deltas"]["format"],
    script:
        "../scripts/revert_ability_weights.py"


rule joint_merge:
    input:
        unpack(get_joint_inputs),
    output:
        weights=paths.merged_weights("{abilities}"),
        model=directory(paths.merged_model_dir("{abilities}")),
    log:
        "logs/merge/{abilities}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        gamma=get_joint_gamma,
        eta=config["merge"]["eta"],
        dtype=config["merge"]["dtype"],
        mu=variants.language_mu(config),
    script:
        "../scripts/joint_merge.py"


rule beyond_table:
    input:
        scores=get_beyond_scores,
        records=get_beyond_records,
        training=get_beyond_training_dirs,
    output:
        csv=report(
            paths.table("beyond_{ability}", "csv"),
            caption="../report/beyond.rst",
            category="Beyond the paper",
        ),
        md=paths.table("beyond_{ability}"),
        intervals=paths.table("beyond_{ability}_intervals", "csv"),
        paired=paths.table("beyond_{ability}_paired", "csv"),
        mcnemar=paths.table("beyond_{ability}_mcnemar", "csv"),
    log:
        "logs/tables/beyond_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=get_beyond_labels,
        seeds=get_beyond_score_seeds,
        training_dirs=get_beyond_training,
        order=get_beyond_order,
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
        focus=models.MODEL_KINDS["maec"].label,
    script:
        "../scripts/results_table.py"


rule beyond_figure:
    input:
        scores=get_beyond_scores,
        records=get_beyond_records,
    output:
        png=report(
            paths.figure("beyond_{ability}"),
            caption="../report/beyond_figure.rst",
            category="Beyond the paper",
        ),
        pdf=paths.figure("beyond_{ability}", "pdf"),
        csv=paths.table("beyond_{ability}_averages", "csv"),
        md=paths.table("beyond_{ability}_averages"),
    log:
        "logs/tables/beyond_figure_{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        labels=get_beyond_labels,
        bench=get_ability_bench,
        kind="bars",
        title=get_figure_title,
        options=scores.table_options(config),
        intervals=scores.interval_options(config),
    script:
        "../scripts/experiment_figure.py"
