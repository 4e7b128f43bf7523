# A backbone and benchmarks from the Hugging Face hub (the paper's configuration). The demo
# world makes its own instead (world.smk).


rule download_backbone:
    output:
        directory(BACKBONE),
    log:
        "logs/download/backbone.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        source=config.get("backbone"),
    script:
        "../scripts/download_backbone.py"


rule download_mgsm:
    output:
        questions=[
            mgsm_questions(lang) for lang in config["evaluation"]["mgsm"]["languages"]
        ],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    log:
        "logs/download/mgsm.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        hub=config["evaluation"]["mgsm"].get("hub"),
        languages=config["evaluation"]["mgsm"]["languages"],
    script:
        "../scripts/download_mgsm.py"


rule download_mmlu:
    output:
        test=[
            mmlu_file("test", lang)
            for lang in config["evaluation"]["mmlu"]["languages"]
        ],
        dev=[
            mmlu_file("dev", lang)
            for lang in config["evaluation"]["mmlu"]["languages"]
        ],
    log:
        "logs/download/mmlu.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        hub=config["evaluation"]["mmlu"].get("hub"),
        languages=config["evaluation"]["mmlu"]["languages"],
    script:
        "../scripts/download_mmlu.py"
