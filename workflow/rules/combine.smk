# The combination stage: tensor similarity S(τ) and the set T (Eq. 4), then the merge (Eq. 5),
# with the report of how much of γR(A) survives its rounding to merge.dtype.


rule tensor_similarity:
    input:
        r_a=ability_delta("{ability}"),
        r_lang=r_lang(),
    output:
        similarity_table("{ability}"),
    log:
        "logs/similarity/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        k2=get_k2,
    script:
        "../scripts/tensor_similarity.py"


rule merge:
    input:
        backbone=BACKBONE,
        r_a=ability_delta("{ability}"),
        r_lang=r_lang(),
        similarity=similarity_table("{ability}"),
    output:
        weights=merged_weights("{ability}"),
        model=directory(merged_model_dir("{ability}")),
        rounding=merge_rounding("{ability}"),
    log:
        "logs/merge/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        gamma=config["merge"]["gamma"],
        eta=config["merge"]["eta"],
        dtype=config["merge"]["dtype"],
        mu=get_mu(),
    script:
        "../scripts/merge.py"
