from maec.combination.terms import task_vector_terms
from maec.io.hf_dir import write_hf_directory
from maec.io.reader import open_checkpoint
from maec.merge_methods import merge_method
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
settings = dict(snakemake.params.settings)
method = merge_method(settings.pop("combine"))
backbone = snakemake.input.backbone
models = [snakemake.input.ability_model, snakemake.input.language_model]
names = open_checkpoint(backbone).names
# F-TV's λ weighs the task vectors, or the method scales what it combines (TIES)
scale = snakemake.params.scale if method.weighs_terms else 1.0
terms = task_vector_terms(models, names, scale=scale)
method.write(backbone, terms, snakemake.output.weights, **settings)
write_hf_directory(snakemake.output.weights, backbone, snakemake.output.model)
