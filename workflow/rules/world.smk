# The offline demo world: generated corpora and benchmarks, a tokenizer trained on the
# general corpora, and a tiny LLaMA-architecture backbone pretrained on them; the ability
# corpora in the target languages for the translated-corpus baselines.


rule generate_world:
    output:
        world_outputs(),
    log:
        "logs/world/generate.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        seed=config["world"]["seed"],
        generate=config["world"]["generate"],
        languages=[L0, *LANGUAGES],
        abilities=ABILITIES,
    script:
        "../scripts/generate_world.py"


rule translate_world_corpora:
    output:
        world_translation_outputs(),
    log:
        "logs/world/translate.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        paths=world_translations(),
        seed=config["world"]["seed"],
        generate=config["world"]["generate"],
    script:
        "../scripts/translate_world_corpora.py"


rule train_tokenizer:
    input:
        corpora=[corpus_config(c)["source"] for c in all_corpora()],
    output:
        directory(TOKENIZER),
    log:
        "logs/world/tokenizer.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        vocab_size=config["world"]["tokenizer"]["vocab_size"],
        seed=config["world"]["seed"],
    script:
        "../scripts/train_tokenizer.py"


rule init_backbone:
    input:
        tokenizer=TOKENIZER,
    output:
        directory(BACKBONE_INIT),
    log:
        "logs/world/init_backbone.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        model=config["world"]["model"],
        seed=config["world"]["seed"],
    script:
        "../scripts/init_backbone.py"


rule pretrain_backbone:
    input:
        backbone=BACKBONE_INIT,
        tokens=[token_blocks(general_corpus(lang)) for lang in [L0, *LANGUAGES]],
    output:
        directory(BACKBONE),
    log:
        "logs/world/pretrain_backbone.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("train")
    resources:
        **job_resources("train"),
        **training_cadence(config["world"]["pretrain"]["micro_batch_size"]),
    params:
        training=get_pretrain_params(),
        weights=[1.0 for _ in [L0, *LANGUAGES]],
        resume_dir=resume_dir(BACKBONE),
    script:
        "../scripts/train.py"
