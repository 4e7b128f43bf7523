# The combination stage: tensor similarity S(τ) and the set T (Eq. 4), then the merge (Eq. 5),
# with the report of how much of γR(A) survives its rounding to merge.dtype.


rule tensor_similarity:
    input:
        r_a=ability_delta("{ability}", seed="{seed}"),
        r_lang=r_lang(seed="{seed}"),
    output:
        similarity_table("{ability}", seed="{seed}"),
    log:
        "logs/{seed}similarity/{ability}.log",
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
        r_a=ability_delta("{ability}", seed="{seed}"),
        r_lang=r_lang(seed="{seed}"),
        similarity=similarity_table("{ability}", seed="{seed}"),
    output:
        weights=merged_weights("{ability}", seed="{seed}"),
        model=directory(merged_model_dir("{ability}", seed="{seed}")),
        rounding=merge_rounding("{ability}", "{seed}"),
    log:
        "logs/{seed}merge/{ability}.log",
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
