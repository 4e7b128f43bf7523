# Ability weights R(A) (Eq. 2), language weights R(Li), and R_Lang (Eq. 3).


rule ability_weights:
    input:
        unpack(get_ability_delta_inputs),
    output:
        ability_delta("{ability}", "{deltas}"),
    log:
        "logs/{deltas}/ability_{ability}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        alpha=config["ability_weights"]["alpha"],
        beta=config["ability_weights"]["beta"],
        dtype=config["deltas"]["dtype"],
    script:
        "../scripts/ability_weights.py"


rule language_weights:
    input:
        unpack(get_language_delta_inputs),
    output:
        language_delta("{lang}", "{deltas}"),
    log:
        "logs/{deltas}/language_{lang}.log",
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
    script:
        "../scripts/language_weights.py"


rule r_lang:
    input:
        get_language_deltas,
    output:
        r_lang("{deltas}"),
    log:
        "logs/{deltas}/r_lang.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **job_resources("stream"),
    params:
        languages=LANGUAGES,
        mu=get_mu(),
    script:
        "../scripts/r_lang.py"
