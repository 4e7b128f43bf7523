# The combination stage: tensor similarity S(τ) and the set T (Eq. 4), then the merge (Eq. 5),
# with the report of how much of γR(A) survives its rounding to merge.dtype.


rule tensor_similarity:
    input:
        r_a=paths.ability_delta("{ability}", seed_dir="{seed_dir}"),
        r_lang=paths.r_lang(seed_dir="{seed_dir}"),
    output:
        paths.similarity_table("{ability}", seed_dir="{seed_dir}"),
    log:
        "logs/{seed_dir}similarity/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        k2=get_k2,
    script:
        "../scripts/tensor_similarity.py"


rule merge:
    input:
        backbone=paths.BACKBONE,
        r_a=paths.ability_delta("{ability}", seed_dir="{seed_dir}"),
        r_lang=paths.r_lang(seed_dir="{seed_dir}"),
        similarity=paths.similarity_table("{ability}", seed_dir="{seed_dir}"),
    output:
        weights=paths.merged_weights("{ability}", seed_dir="{seed_dir}"),
        model=directory(paths.merged_model_dir("{ability}", seed_dir="{seed_dir}")),
        rounding=paths.merge_rounding("{ability}", "{seed_dir}"),
    log:
        "logs/{seed_dir}merge/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        gamma=config["merge"]["gamma"],
        eta=config["merge"]["eta"],
        dtype=config["merge"]["dtype"],
        mu=variants.language_mu(config),
    script:
        "../scripts/merge.py"
