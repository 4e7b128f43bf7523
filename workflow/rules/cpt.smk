# The masked CPT runs: Θ_{A,L0} per ability, Θ_{L0}, and Θ_{Li,L0} per language, each
# training only the entries of its mask.


rule masked_cpt:
    input:
        backbone=BACKBONE,
        tokens=get_run_tokens,
        mask=get_run_mask,
    output:
        directory(cpt_dir("{run}", seed="{seed}")),
    log:
        "logs/{seed}cpt/{run}.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("train")
    resources:
        **job_resources("train"),
        **training_cadence(),
    params:
        training=get_masked_training_params,
        weights=get_run_mixture,
        resume_dir=resume_dir(cpt_dir("{run}", seed="{seed}")),
    script:
        "../scripts/train.py"
