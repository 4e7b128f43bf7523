# Key neurons N_X: the top k1 of entries by importance (Eq. 1), and the unions that the
# masked CPT runs train (N_A ∪ N_L0, N_Li ∪ N_L0).


rule key_neurons:
    input:
        backbone=paths.BACKBONE,
        tuned=paths.importance_dir("{corpus}", "{seed_dir}"),
    output:
        mask=paths.mask_file("{corpus}", "{seed_dir}"),
        summary=paths.mask_summary("{corpus}", "{seed_dir}"),
    log:
        "logs/{seed_dir}masks/{corpus}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    params:
        k1=config["key_neurons"]["k1"],
        scope=config["key_neurons"]["scope"],
        include=config["key_neurons"]["include"],
        exclude=config["key_neurons"]["exclude"],
        tie_seed=config["key_neurons"]["tie_seed"],
        lr=config["training"]["lr"],
    script:
        "../scripts/key_neurons.py"


rule mask_union:
    input:
        get_union_members,
    output:
        paths.union_mask("{run}", "{seed_dir}"),
    log:
        "logs/{seed_dir}masks/union/{run}.log",
    conda:
        "../../envs/stream.yaml"
    threads: get_threads("stream")
    resources:
        **get_resources("stream"),
    script:
        "../scripts/mask_union.py"
