# A backbone and benchmarks from the Hugging Face hub (the paper's configuration). The demo
# world makes its own instead (world.smk).


rule download_backbone:
    output:
        directory(paths.BACKBONE),
    log:
        "logs/download/backbone.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        source=config["backbone"],
    script:
        "../scripts/download_backbone.py"


rule download_mgsm:
    output:
        questions=[inputs.mgsm_questions(config, lang) for lang in MGSM_LANGUAGES],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    log:
        "logs/download/mgsm.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        hub=config["evaluation"]["mgsm"]["hub"],
        languages=MGSM_LANGUAGES,
    script:
        "../scripts/download_mgsm.py"


rule download_mmlu:
    output:
        "resources/m_mmlu/{lang}_{split}.json",
    log:
        "logs/download/mmlu_{lang}_{split}.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        hub=config["evaluation"]["mmlu"]["hub"],
    script:
        "../scripts/download_mmlu.py"
