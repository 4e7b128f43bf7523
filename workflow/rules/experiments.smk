# The models of the paper's experiments: Table 2 baselines (full and LoRA CPT, domain
# adaptation, task vectors) and reference models, the deltas of the Figure 3 ablations, merge
# variants (ablations, k2 sweep, tensor types, selection grid), their scores on the
# selection's dev split, and out-of-domain scores (Table 3). Merge variants reuse every
# trained checkpoint. Their tables and figures: experiment_tables.smk.


use rule masked_cpt as full_cpt with:
    input:
        backbone=BACKBONE,
        tokens=get_run_tokens,
    output:
        directory(cpt_dir("{run}", "deltas-full", "{seed}")),
    log:
        "logs/{seed}cpt-full/{run}.log",
    params:
        training=get_full_training_params,
        weights=get_run_mixture,
        resume_dir=resume_dir(cpt_dir("{run}", "deltas-full", "{seed}")),


use rule masked_cpt as baseline_cpt with:
    input:
        backbone=BACKBONE,
        tokens=get_run_tokens,
    output:
        directory(baseline_dir("{method}", "{run}", "{seed}")),
    log:
        "logs/{seed}baselines/{method}/{run}.log",
    params:
        training=get_baseline_training_params,
        weights=get_run_mixture,
        resume_dir=resume_dir(baseline_dir("{method}", "{run}", "{seed}")),


use rule masked_cpt as domain_adaptation with:
    input:
        backbone=get_adaptation_start,
        tokens=get_adaptation_tokens,
    output:
        directory(adaptation_dir("{method}", ability_corpus("{ability}"), "{seed}")),
    log:
        "logs/{seed}baselines/{method}-da/{ability}.log",
    params:
        training=get_adaptation_training_params,
        weights=[1.0],
        resume_dir=resume_dir(
            adaptation_dir("{method}", ability_corpus("{ability}"), "{seed}")
        ),


rule download_reference_model:
    output:
        directory(reference_download_dir("{name}")),
    log:
        "logs/download/reference_{name}.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        source=get_reference_source,
    script:
        "../scripts/download_backbone.py"


use rule ability_weights as ability_weights_plain with:
    output:
        ability_delta("{ability}", "{deltas}", "ability-plain", "{seed}"),
    log:
        "logs/{seed}{deltas}/ability_plain_{ability}.log",
    params:
        alpha=1.0,
        beta=0.0,
        dtype=config["deltas"]["dtype"],
        delta_format=config["deltas"]["format"],


use rule r_lang as r_lang_uniform_mu with:
    output:
        r_lang("{deltas}", "{mu}", "{seed}"),
    log:
        "logs/{seed}{deltas}/r_lang_mu_{mu}.log",
    params:
        languages=LANGUAGES,
        mu=get_uniform_mu,
        delta_format=config["deltas"]["format"],


rule merge_variant:
    input:
        unpack(get_variant_inputs),
    output:
        weights=merged_weights("{ability}", "{variant}", "{seed}"),
        model=directory(merged_model_dir("{ability}", "{variant}", "{seed}")),
        similarity=similarity_table("{ability}", "{variant}", "{seed}"),
    log:
        "logs/{seed}merge/{ability}/{variant}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        settings=get_variant_settings,
    script:
        "../scripts/merge_variant.py"


rule task_vector:
    input:
        backbone=BACKBONE,
        ability_model=get_task_vector_ability_model,
        language_model=get_task_vector_language_model,
    output:
        weights=task_vector_weights("{method}", "{ability}", "{seed}"),
        model=directory(task_vector_model_dir("{method}", "{ability}", "{seed}")),
    log:
        "logs/{seed}baselines/tv/{method}_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        scale=EXPERIMENTS["baselines"]["task_vector_scale"],
    script:
        "../scripts/task_vector.py"


rule evaluate_ood:
    input:
        model=get_model_dir,
        data=get_ood_task_files,
    output:
        scores=ood_scores("{model}"),
        results=ood_results("{model}"),
    log:
        "logs/eval-ood/{model}.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        settings=get_ood_settings(),
    script:
        "../scripts/evaluate_ood.py"


use rule evaluate_mgsm as evaluate_mgsm_dev with:
    input:
        model=get_model_dir,
        questions=[selection_dev("mgsm", lang) for lang in MGSM_LANGUAGES],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    output:
        examples=[
            eval_records("{model}", "mgsm", lang, True, "{seed}")
            for lang in MGSM_LANGUAGES
        ],
        scores=[
            eval_scores("{model}", "mgsm", lang, True, "{seed}")
            for lang in MGSM_LANGUAGES
        ],
    log:
        "logs/{seed}eval-dev/{model}/mgsm.log",


use rule evaluate_mmlu as evaluate_mmlu_dev with:
    input:
        model=get_model_dir,
        test=[selection_dev("mmlu", lang) for lang in MMLU_LANGUAGES],
        dev=[mmlu_file("dev", lang) for lang in MMLU_LANGUAGES],
    output:
        examples=[
            eval_records("{model}", "mmlu", lang, True, "{seed}")
            for lang in MMLU_LANGUAGES
        ],
        scores=[
            eval_scores("{model}", "mmlu", lang, True, "{seed}")
            for lang in MMLU_LANGUAGES
        ],
    log:
        "logs/{seed}eval-dev/{model}/mmlu.log",


checkpoint select_hyperparameters:
    input:
        get_selection_dev_scores,
    output:
        selection_choice("{ability}"),
    log:
        "logs/selection/{ability}.log",
    conda:
        "../../envs/report.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        variants=selection_variants(),
        bench=get_ability_bench,
        languages=get_ability_average,
    script:
        "../scripts/select_hyperparameters.py"
