# Ability weights R(A) (Eq. 2), language weights R(Li), and R_Lang (Eq. 3); ability packs
# (R(A) stored sparse with what it was made of, mergeable on its backbone).


rule ability_weights:
    input:
        unpack(get_ability_delta_inputs),
    output:
        ability_delta("{ability}", "{deltas}", seed="{seed}"),
    log:
        "logs/{seed}{deltas}/ability_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
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
        language_delta("{lang}", "{deltas}", "{seed}"),
    log:
        "logs/{seed}{deltas}/language_{lang}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
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
        r_lang("{deltas}", seed="{seed}"),
    log:
        "logs/{seed}{deltas}/r_lang.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        languages=LANGUAGES,
        mu=get_mu(),
        delta_format=config["deltas"]["format"],
    script:
        "../scripts/r_lang.py"


rule ability_pack:
    input:
        unpack(get_ability_pack_inputs),
    output:
        ability_pack("{ability}", "{seed}"),
    log:
        "logs/{seed}packs/{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        k1=config["key_neurons"]["k1"],
        corpora=get_ability_pack_corpora,
    script:
        "../scripts/ability_pack.py"
