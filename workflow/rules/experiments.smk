# The paper's experiments, each one target: Table 2 baselines, Figure 3 ablations, Figure 4
# (k2 sweep), Table 8 (tensor types), Figure 5b (per-layer cosine), and a hyper-parameter
# selection on dev data. Merge variants reuse every trained checkpoint.


use rule masked_cpt as full_cpt with:
    input:
        backbone=BACKBONE,
        tokens=get_run_tokens,
    output:
        directory("results/cpt-full/{run}"),
    log:
        "logs/cpt-full/{run}.log",
    params:
        training=training_params(config["masked_cpt"]["tokens"]),
        weights=get_run_mixture,
        resume_dir="results/.resume/cpt-full/{run}",


use rule masked_cpt as baseline_full_cpt with:
    input:
        backbone=BACKBONE,
        tokens=get_run_tokens,
    output:
        directory("results/baselines/full/{run}"),
    log:
        "logs/baselines/full/{run}.log",
    params:
        training=training_params(EXPERIMENTS["baselines"]["tokens"]),
        weights=get_run_mixture,
        resume_dir="results/.resume/baselines/full/{run}",


use rule masked_cpt as baseline_lora_cpt with:
    input:
        backbone=BACKBONE,
        tokens=get_run_tokens,
    output:
        directory("results/baselines/lora/{run}"),
    log:
        "logs/baselines/lora/{run}.log",
    params:
        training=get_lora_training_params(),
        weights=get_run_mixture,
        resume_dir="results/.resume/baselines/lora/{run}",


use rule ability_weights as ability_weights_plain with:
    output:
        "results/{deltas}/ability-plain/{ability}.safetensors",
    log:
        "logs/{deltas}/ability_plain_{ability}.log",
    params:
        alpha=1.0,
        beta=0.0,
        dtype=config["deltas"].get("dtype", "float32"),


use rule r_lang as r_lang_uniform_mu with:
    output:
        "results/{deltas}/r_lang-mu-{mu}.safetensors",
    log:
        "logs/{deltas}/r_lang_mu_{mu}.log",
    params:
        languages=LANGUAGES,
        mu=get_uniform_mu,


rule merge_variant:
    input:
        unpack(get_variant_inputs),
    output:
        weights="results/merged/{ability}/{variant}.safetensors",
        model=directory("results/merged/{ability}/{variant}.hf"),
        similarity="results/merged/{ability}/{variant}.tsv",
    log:
        "logs/merge/{ability}/{variant}.log",
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
        weights="results/baselines/tv/{method}_{ability}.safetensors",
        model=directory("results/baselines/tv/{method}_{ability}.hf"),
    log:
        "logs/baselines/tv/{method}_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        scale=EXPERIMENTS["baselines"]["task_vector_scale"],
    script:
        "../scripts/task_vector.py"


use rule evaluate_mgsm as evaluate_mgsm_dev with:
    input:
        model=get_model_dir,
        questions=[selection_dev("mgsm", lang) for lang in MGSM_LANGUAGES],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    output:
        examples=[
            f"results/eval-dev/{{model}}/mgsm_{lang}.jsonl" for lang in MGSM_LANGUAGES
        ],
        scores=[
            f"results/eval-dev/{{model}}/mgsm_{lang}.json" for lang in MGSM_LANGUAGES
        ],
    log:
        "logs/eval-dev/{model}/mgsm.log",


use rule evaluate_mmlu as evaluate_mmlu_dev with:
    input:
        model=get_model_dir,
        test=[selection_dev("mmlu", lang) for lang in MMLU_LANGUAGES],
        dev=[mmlu_file("dev", lang) for lang in MMLU_LANGUAGES],
    output:
        examples=[
            f"results/eval-dev/{{model}}/mmlu_{lang}.jsonl" for lang in MMLU_LANGUAGES
        ],
        scores=[
            f"results/eval-dev/{{model}}/mmlu_{lang}.json" for lang in MMLU_LANGUAGES
        ],
    log:
        "logs/eval-dev/{model}/mmlu.log",


checkpoint select_hyperparameters:
    input:
        get_selection_dev_scores,
    output:
        "results/selection/{ability}.json",
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
    script:
        "../scripts/select_hyperparameters.py"
