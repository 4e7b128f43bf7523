# The importance CPT (Eq. 1 input): full-parameter CPT of the backbone on a sample C' of one
# corpus; the key-neuron rule compares its float32 master weights (fp32_master/ inside the
# output) with the backbone. Deleted after use when keep_intermediates is false
# (maec.workflow.intermediates); its record stays beside it.


rule importance_cpt:
    input:
        backbone=paths.BACKBONE,
        tokens=[paths.token_blocks("{corpus}")],
    output:
        intermediate(directory(paths.importance_dir("{corpus}", "{seed_dir}"))),
        lineage=intermediates.lineage_record(
            paths.importance_dir("{corpus}", "{seed_dir}")
        ),
    log:
        "logs/{seed_dir}importance/{corpus}.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("train")
    resources:
        **get_resources("train"),
        **get_cadence(),
    params:
        training=get_importance_params,
        weights=[1.0],
        resume_dir=paths.resume_dir(paths.importance_dir("{corpus}", "{seed_dir}")),
    script:
        "../scripts/train.py"
