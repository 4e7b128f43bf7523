"""Continual pre-training: the importance CPT, the masked CPT runs and the demo pretraining."""

from maec.joblog import log_job_to
from maec.training import train

log_job_to(snakemake.log[0])
tokens = snakemake.input.tokens
tokens = [tokens] if isinstance(tokens, str) else list(tokens)
mask = snakemake.input.get("mask")
train(
    snakemake.input.backbone,
    [(t.removesuffix(".npy"), w) for t, w in zip(tokens, snakemake.params.weights)],
    snakemake.output[0],
    mask=mask,
    resume_dir=snakemake.params.resume_dir,
    **snakemake.params.training,
)
