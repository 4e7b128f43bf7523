# The ability corpora translated into the target languages by an open machine-translation
# model (`translation`), for Table 2's F-CPT_{L&T} and F-CPT_T; the paper used GPT-4o.


rule download_translation_model:
    output:
        directory(paths.TRANSLATION_MODEL),
    log:
        "logs/download/translation_model.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        source=config["translation"]["model"],
        key="translation.model",
    script:
        "../scripts/download_backbone.py"


rule translate_corpus:
    input:
        model=paths.TRANSLATION_MODEL,
        corpus=get_translation_source_files,
    output:
        corpus=paths.translation_file("{ability}_{lang}"),
        summary=paths.translation_summary("{ability}_{lang}"),
    log:
        "logs/translations/{ability}_{lang}.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("translate")
    resources:
        **get_resources("translate"),
    params:
        reading=get_translation_reading,
        source_code=get_translation_source_code,
        target_code=get_translation_target_code,
        max_tokens=config["translation"]["max_tokens"],
        max_length=config["translation"]["max_length"],
        batch_size=config["translation"]["batch_size"],
    script:
        "../scripts/translate_corpus.py"
