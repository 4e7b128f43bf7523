# Each corpus becomes packed blocks of token ids, tokenized once and read by every CPT run.


rule tokenize:
    input:
        corpus=get_corpus_files,
        tokenizer=paths.TOKENIZER if IS_DEMO else paths.BACKBONE,
    output:
        blocks=paths.token_blocks("{corpus}"),
        meta=paths.token_summary("{corpus}"),
    log:
        "logs/tokenize/{corpus}.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **get_resources("light"),
    params:
        corpus=get_corpus_reading,
        key=get_corpus_key,
        block_size=config["tokenize"]["block_size"],
        max_tokens=config["tokenize"]["max_tokens"],
    script:
        "../scripts/tokenize_corpus.py"
