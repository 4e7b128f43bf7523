# MGSM (math), multilingual MMLU science subsets, and every benchmark of lm-evaluation-harness
# tasks in evaluation.harness (rule evaluate_{bench}): one job per model and benchmark loads
# the model once and scores every language, writing per-example records and a score each. A
# merge variant is merged in memory from the backbone and its deltas, never written.


rule evaluate_mgsm:
    input:
        unpack(get_evaluation_inputs),
        questions=[inputs.mgsm_questions(config, lang) for lang in MGSM_LANGUAGES],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    output:
        examples=[
            paths.eval_records("{model}", "mgsm", lang, seed_dir="{seed_dir}")
            for lang in MGSM_LANGUAGES
        ],
        scores=[
            paths.eval_scores("{model}", "mgsm", lang, seed_dir="{seed_dir}")
            for lang in MGSM_LANGUAGES
        ],
    log:
        "logs/{seed_dir}eval/{model}/mgsm.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("evaluate")
    resources:
        **get_resources("evaluate"),
    params:
        merged_on_load=get_merged_on_load,
        languages=MGSM_LANGUAGES,
        n_shots=config["evaluation"]["mgsm"]["n_shots"],
        chain_of_thought=config["evaluation"]["mgsm"]["chain_of_thought"],
        max_new_tokens=config["evaluation"]["mgsm"]["max_new_tokens"],
        batch_size=config["evaluation"]["mgsm"]["batch_size"],
        limit=config["evaluation"]["mgsm"]["limit"],
    script:
        "../scripts/evaluate_mgsm.py"


rule evaluate_mmlu:
    input:
        unpack(get_evaluation_inputs),
        test=[inputs.mmlu_file(config, "test", lang) for lang in MMLU_LANGUAGES],
        dev=[inputs.mmlu_file(config, "dev", lang) for lang in MMLU_LANGUAGES],
    output:
        examples=[
            paths.eval_records("{model}", "mmlu", lang, seed_dir="{seed_dir}")
            for lang in MMLU_LANGUAGES
        ],
        scores=[
            paths.eval_scores("{model}", "mmlu", lang, seed_dir="{seed_dir}")
            for lang in MMLU_LANGUAGES
        ],
    log:
        "logs/{seed_dir}eval/{model}/mmlu.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("evaluate")
    resources:
        **get_resources("evaluate"),
    params:
        merged_on_load=get_merged_on_load,
        languages=MMLU_LANGUAGES,
        n_shots=config["evaluation"]["mmlu"]["n_shots"],
        subjects=config["evaluation"]["mmlu"]["subjects"],
        batch_size=config["evaluation"]["mmlu"]["batch_size"],
        limit=config["evaluation"]["mmlu"]["limit"],
    script:
        "../scripts/evaluate_mmlu.py"


# A harness benchmark's rule, and with dev_tasks its dev split's (the selection's) rule.
for bench, dev in HARNESS_RULES:

    rule:
        name:
            f"evaluate_{bench}_dev" if dev else f"evaluate_{bench}"
        input:
            unpack(get_evaluation_inputs),
            tasks=benchmarks.harness_inputs(config, bench, dev),
        output:
            examples=[
                paths.eval_records("{model}", bench, lang, dev, "{seed_dir}")
                for lang in benchmarks.benchmark_languages(config, bench)
            ],
            scores=[
                paths.eval_scores("{model}", bench, lang, dev, "{seed_dir}")
                for lang in benchmarks.benchmark_languages(config, bench)
            ],
        log:
            f"logs/{{seed_dir}}eval{'-dev' if dev else ''}/{{model}}/{bench}.log",
        conda:
            "../../envs/evaluate.yaml"
        threads: get_threads("evaluate")
        resources:
            **get_resources("evaluate"),
        params:
            merged_on_load=get_merged_on_load,
            bench=bench,
            settings=benchmarks.harness_settings(config, bench, dev),
        script:
            "../scripts/evaluate_harness.py"
