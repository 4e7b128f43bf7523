# A backbone and benchmarks from the Hugging Face hub (the paper's configuration). The demo
# world makes its own instead (world.smk).


rule download_backbone:
    output:
        directory(BACKBONE),
    params:
        source=config.get("backbone"),
    log:
        "logs/download/backbone.log",
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    conda:
        "../../envs/maec.yaml"
    script:
        "../scripts/download_backbone.py"


rule download_mgsm:
    output:
        questions=[mgsm_questions(lang) for lang in config["evaluation"]["mgsm"]["languages"]],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    params:
        hub=config["evaluation"]["mgsm"].get("hub"),
        languages=config["evaluation"]["mgsm"]["languages"],
    log:
        "logs/download/mgsm.log",
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    conda:
        "../../envs/maec.yaml"
    script:
        "../scripts/download_mgsm.py"


rule download_mmlu:
    output:
        test=[mmlu_file("test", lang) for lang in config["evaluation"]["mmlu"]["languages"]],
        dev=[mmlu_file("dev", lang) for lang in config["evaluation"]["mmlu"]["languages"]],
    params:
        hub=config["evaluation"]["mmlu"].get("hub"),
        languages=config["evaluation"]["mmlu"]["languages"],
    log:
        "logs/download/mmlu.log",
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    conda:
        "../../envs/maec.yaml"
    script:
        "../scripts/download_mmlu.py"
