# The models of the paper's experiments: Table 2 baselines (full and LoRA CPT, domain
# adaptation, task vectors) and reference models, the deltas of the Figure 3 ablations, merge
# variants (ablations, k2 sweep, tensor types, selection grid), their scores on the
# selection's dev split, and out-of-domain scores (Table 3). Merge variants reuse every
# trained checkpoint. Their tables and figures: experiment_tables.smk.


use rule masked_cpt as full_cpt with:
    input:
        backbone=paths.BACKBONE,
        tokens=get_run_tokens,
    output:
        directory(paths.cpt_dir("{run}", "deltas-full", "{seed_dir}")),
    log:
        "logs/{seed_dir}cpt-full/{run}.log",
    params:
        training=get_unmasked_params,
        weights=get_run_mixture,
        resume_dir=paths.resume_dir(paths.cpt_dir("{run}", "deltas-full", "{seed_dir}")),


use rule masked_cpt as baseline_cpt with:
    input:
        backbone=paths.BACKBONE,
        tokens=get_run_tokens,
    output:
        directory(paths.baseline_dir("{tuning}", "{run}", "{seed_dir}")),
    log:
        "logs/{seed_dir}baselines/{tuning}/{run}.log",
    params:
        training=get_baseline_params,
        weights=get_baseline_mixture,
        resume_dir=paths.resume_dir(
            paths.baseline_dir("{tuning}", "{run}", "{seed_dir}")
        ),


use rule masked_cpt as domain_adaptation with:
    input:
        backbone=get_adaptation_start,
        tokens=get_adaptation_tokens,
    output:
        directory(
            paths.adaptation_dir(
                "{tuning}", corpora.ability_corpus(config, "{ability}"), "{seed_dir}"
            )
        ),
    log:
        "logs/{seed_dir}baselines/{tuning}-da/{ability}.log",
    params:
        training=get_adaptation_params,
        weights=[1.0],
        resume_dir=paths.resume_dir(
            paths.adaptation_dir(
                "{tuning}", corpora.ability_corpus(config, "{ability}"), "{seed_dir}"
            )
        ),


rule download_reference_model:
    output:
        directory(paths.reference_download_dir("{name}")),
    log:
        "logs/download/reference_{name}.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        source=get_reference_source,
    script:
        "../scripts/download_backbone.py"


use rule ability_weights as ability_weights_plain with:
    output:
        intermediate(
            paths.ability_delta("{ability}", "{deltas}", "ability-plain", "{seed_dir}")
        ),
        lineage=intermediates.lineage_record(
            paths.ability_delta("{ability}", "{deltas}", "ability-plain", "{seed_dir}")
        ),
    log:
        "logs/{seed_dir}{deltas}/ability_plain_{ability}.log",
    params:
        **jobs.precision_params(config),
        alpha=1.0,
        beta=0.0,
        dtype=config["deltas"]["dtype"],
        delta_format=config["deltas"]["format"],


use rule r_lang as r_lang_uniform_mu with:
    output:
        intermediate(paths.r_lang("{deltas}", "{mu}", "{seed_dir}")),
        lineage=intermediates.lineage_record(
            paths.r_lang("{deltas}", "{mu}", "{seed_dir}")
        ),
    log:
        "logs/{seed_dir}{deltas}/r_lang_mu_{mu}.log",
    params:
        languages=LANGUAGES,
        mu=get_uniform_mu,
        delta_format=config["deltas"]["format"],


rule merge_variant:
    input:
        unpack(get_variant_inputs),
    output:
        weights=paths.merged_weights("{ability}", "{variant}", "{seed_dir}"),
        model=directory(paths.merged_model_dir("{ability}", "{variant}", "{seed_dir}")),
        similarity=paths.similarity_table("{ability}", "{variant}", "{seed_dir}"),
    log:
        "logs/{seed_dir}merge/{ability}/{variant}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        settings=get_variant_settings,
    script:
        "../scripts/merge_variant.py"


rule task_vector:
    input:
        unpack(get_task_vector_experts),
    output:
        weights=intermediate(
            paths.task_vector_path(
                "{tuning}", "{ability}", ".safetensors", "{seed_dir}"
            )
        ),
        model=intermediate(
            directory(
                paths.task_vector_path("{tuning}", "{ability}", ".hf", "{seed_dir}")
            )
        ),
    log:
        "logs/{seed_dir}baselines/tv/{tuning}_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        scale=config["experiments"]["baselines"]["task_vector_scale"],
    script:
        "../scripts/task_vector.py"


rule evaluate_ood:
    input:
        model=get_model_dir,
        data=get_ood_task_files,
    output:
        scores=paths.ood_scores("{model}"),
        results=paths.ood_results("{model}"),
        records=paths.ood_records("{model}"),
    log:
        "logs/eval-ood/{model}.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("evaluate")
    resources:
        **get_resources("evaluate"),
    params:
        settings=studies.ood_settings(config),
    script:
        "../scripts/evaluate_ood.py"


use rule evaluate_mgsm as evaluate_mgsm_dev with:
    input:
        unpack(get_evaluation_inputs),
        questions=[
            inputs.selection_dev(config, "mgsm", lang) for lang in MGSM_LANGUAGES
        ],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    output:
        examples=[
            paths.eval_records("{model}", "mgsm", lang, True, "{seed_dir}")
            for lang in MGSM_LANGUAGES
        ],
        scores=[
            paths.eval_scores("{model}", "mgsm", lang, True, "{seed_dir}")
            for lang in MGSM_LANGUAGES
        ],
    log:
        "logs/{seed_dir}eval-dev/{model}/mgsm.log",


use rule evaluate_mmlu as evaluate_mmlu_dev with:
    input:
        unpack(get_evaluation_inputs),
        test=[inputs.selection_dev(config, "mmlu", lang) for lang in MMLU_LANGUAGES],
        dev=[inputs.mmlu_file(config, "dev", lang) for lang in MMLU_LANGUAGES],
    output:
        examples=[
            paths.eval_records("{model}", "mmlu", lang, True, "{seed_dir}")
            for lang in MMLU_LANGUAGES
        ],
        scores=[
            paths.eval_scores("{model}", "mmlu", lang, True, "{seed_dir}")
            for lang in MMLU_LANGUAGES
        ],
    log:
        "logs/{seed_dir}eval-dev/{model}/mmlu.log",


checkpoint select_hyperparameters:
    input:
        get_selection_dev_scores,
    output:
        paths.selection_choice("{ability}"),
    log:
        "logs/selection/{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        variants=variants.selection_variants(config),
        bench=get_ability_bench,
        languages=get_ability_average,
    script:
        "../scripts/select_hyperparameters.py"
