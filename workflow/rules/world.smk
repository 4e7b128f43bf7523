# The offline demo world: generated corpora and benchmarks, a tokenizer trained on the
# general corpora, and a tiny LLaMA-architecture backbone pretrained on them; the ability
# corpora in the target languages for the translated-corpus baselines.


rule generate_world:
    output:
        inputs.world_outputs(config),
    log:
        "logs/world/generate.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        seed=config["world"]["seed"],
        generate=config["world"]["generate"],
        languages=corpora.all_languages(config),
        abilities=list(config["abilities"]),
    script:
        "../scripts/generate_world.py"


rule translate_world_corpora:
    output:
        inputs.world_translation_outputs(config),
    log:
        "logs/world/translate.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        paths=inputs.world_translations(config),
        seed=config["world"]["seed"],
        generate=config["world"]["generate"],
    script:
        "../scripts/translate_world_corpora.py"


rule train_tokenizer:
    input:
        corpora=inputs.corpus_sources(config),
    output:
        directory(paths.TOKENIZER),
    log:
        "logs/world/tokenizer.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        vocab_size=config["world"]["tokenizer"]["vocab_size"],
        seed=config["world"]["seed"],
    script:
        "../scripts/train_tokenizer.py"


rule init_backbone:
    input:
        tokenizer=paths.TOKENIZER,
    output:
        directory(paths.BACKBONE_INIT),
    log:
        "logs/world/init_backbone.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        model=config["world"]["model"],
        seed=config["world"]["seed"],
    script:
        "../scripts/init_backbone.py"


rule pretrain_backbone:
    input:
        backbone=paths.BACKBONE_INIT,
        tokens=[paths.token_blocks(c) for c in corpora.general_corpora(config)],
    output:
        directory(paths.BACKBONE),
    log:
        "logs/world/pretrain_backbone.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("train")
    resources:
        **get_resources("train"),
        **jobs.training_cadence(config, config["world"]["pretrain"]["micro_batch_size"]),
    params:
        training=jobs.pretrain_params(config),
        weights=[1.0 for _ in corpora.general_corpora(config)],
        resume_dir=paths.resume_dir(paths.BACKBONE),
    script:
        "../scripts/train.py"
