# Ability weights R(A) (Eq. 2), language weights R(Li), and R_Lang (Eq. 3); ability packs
# (R(A) stored sparse with what it was made of, mergeable on its backbone). The dense deltas
# are deleted after use when keep_intermediates is false; their records stay beside them.


rule ability_weights:
    input:
        backbone=paths.BACKBONE,
        ability_model=get_ability_run,
        general_model=get_reference_run,
    output:
        intermediate(
            paths.ability_delta("{ability}", "{deltas}", seed_dir="{seed_dir}")
        ),
        lineage=intermediates.lineage_record(
            paths.ability_delta("{ability}", "{deltas}", seed_dir="{seed_dir}")
        ),
    log:
        "logs/{seed_dir}{deltas}/ability_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        **jobs.precision_params(config),
        alpha=config["ability_weights"]["alpha"],
        beta=config["ability_weights"]["beta"],
        dtype=config["deltas"]["dtype"],
        delta_format=config["deltas"]["format"],
    script:
        "../scripts/ability_weights.py"


rule language_weights:
    input:
        unpack(get_language_delta_inputs),
    output:
        intermediate(paths.language_delta("{lang}", "{deltas}", "{seed_dir}")),
        lineage=intermediates.lineage_record(
            paths.language_delta("{lang}", "{deltas}", "{seed_dir}")
        ),
    log:
        "logs/{seed_dir}{deltas}/language_{lang}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        **jobs.precision_params(config),
        alpha=config["language_weights"]["alpha"],
        beta=config["language_weights"]["beta"],
        mode=config["language_weights"]["mode"],
        dtype=config["deltas"]["dtype"],
        delta_format=config["deltas"]["format"],
    script:
        "../scripts/language_weights.py"


rule r_lang:
    input:
        get_language_deltas,
    output:
        intermediate(paths.r_lang("{deltas}", seed_dir="{seed_dir}")),
        lineage=intermediates.lineage_record(
            paths.r_lang("{deltas}", seed_dir="{seed_dir}")
        ),
    log:
        "logs/{seed_dir}{deltas}/r_lang.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        languages=LANGUAGES,
        mu=variants.language_mu(config),
        delta_format=config["deltas"]["format"],
    script:
        "../scripts/r_lang.py"


rule ability_pack:
    input:
        unpack(get_pack_inputs),
    output:
        paths.ability_pack("{ability}", "{seed_dir}"),
    log:
        "logs/{seed_dir}packs/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        k1=config["key_neurons"]["k1"],
        corpora=get_pack_corpora,
    script:
        "../scripts/ability_pack.py"
