# Each corpus becomes packed blocks of token ids, tokenized once and read by every CPT run.


rule tokenize:
    input:
        corpus=get_corpus_source,
        tokenizer=get_tokenizer_dir(),
    output:
        blocks=token_blocks("{corpus}"),
        meta=token_summary("{corpus}"),
    log:
        "logs/tokenize/{corpus}.log",
    conda:
        "../../envs/data.yaml"
    threads: get_threads("light")
    resources:
        **job_resources("light"),
    params:
        corpus=get_corpus_params,
        key=get_corpus_key,
        block_size=config["tokenize"]["block_size"],
        max_tokens=config["tokenize"]["max_tokens"],
    script:
        "../scripts/tokenize_corpus.py"
