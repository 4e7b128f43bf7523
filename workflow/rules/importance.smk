# The importance CPT (Eq. 1 input): full-parameter CPT of the backbone on a sample C' of one
# corpus; the key-neuron rule compares its float32 master weights (fp32_master/ inside the
# output) with the backbone.


rule importance_cpt:
    input:
        backbone=BACKBONE,
        tokens=[token_blocks("{corpus}")],
    output:
        directory(importance_dir("{corpus}", "{seed}")),
    log:
        "logs/{seed}importance/{corpus}.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("train")
    resources:
        **job_resources("train"),
        **training_cadence(),
    params:
        training=get_importance_training_params,
        weights=[1.0],
        resume_dir=resume_dir(importance_dir("{corpus}", "{seed}")),
    script:
        "../scripts/train.py"
