# The masked CPT runs: Θ_{A,L0} per ability, Θ_{L0}, and Θ_{Li,L0} per language, each
# training only the entries of its mask.


rule masked_cpt:
    input:
        backbone=paths.BACKBONE,
        tokens=get_run_tokens,
        mask=get_run_mask,
    output:
        directory(paths.cpt_dir("{run}", seed_dir="{seed_dir}")),
    log:
        "logs/{seed_dir}cpt/{run}.log",
    conda:
        "../../envs/train.yaml"
    threads: get_threads("train")
    resources:
        **get_resources("train"),
        **get_cadence(),
    params:
        training=get_masked_params,
        weights=get_run_mixture,
        resume_dir=paths.resume_dir(paths.cpt_dir("{run}", seed_dir="{seed_dir}")),
    script:
        "../scripts/train.py"
