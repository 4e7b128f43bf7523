"""Continual pre-training: the importance CPT, the masked CPT runs, baselines and the demo
pretraining, in the processes (and nodes) this job was given (torchrun over several)."""

from maec.io.lineage import write_record
from maec.training.launch import launch_training
from maec.workflow.backbone_fit import backbone_facts, check_backbone_fit
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
if snakemake.rule.endswith("importance_cpt"):  # also as a module's maec_importance_cpt
    # The first training step of the method: a backbone downloaded in this run was not on
    # disk while the workflow planned, so its fit with the config is checked here.
    check_backbone_fit(snakemake.config, backbone_facts(snakemake.input.backbone))
tokens = snakemake.input.tokens
tokens = [tokens] if isinstance(tokens, str) else list(tokens)
nodes = snakemake.resources.get("nodes", 1)
launch_training(
    snakemake.resources.gpu // nodes,  # the job's GPUs, over its nodes
    snakemake.input.backbone,
    [(t.removesuffix(".npy"), w) for t, w in zip(tokens, snakemake.params.weights)],
    snakemake.output[0],
    mask=snakemake.input.get("mask"),
    resume_dir=snakemake.params.resume_dir,
    nodes=nodes,
    threads=snakemake.threads,
    micro_batch_size=snakemake.resources.micro_batch_size,
    save_every_steps=snakemake.resources.save_every_steps,
    log_every_steps=snakemake.resources.log_every_steps,
    job_log=snakemake.log[0],
    **snakemake.params.training,
)
if "lineage" in snakemake.output.keys():  # an importance run, deleted after use
    write_record(snakemake.output[0], snakemake.output.lineage)
