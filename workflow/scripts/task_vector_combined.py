from maec.dare import write_dare_merge
from maec.io.hf_dir import write_hf_directory
from maec.io.reader import open_checkpoint
from maec.joblog import log_job_to
from maec.merge_terms import task_vector_terms
from maec.ties_merging import write_ties_merge

log_job_to(snakemake.log[0])
settings = dict(snakemake.params.settings)
backbone = snakemake.input.backbone
models = [snakemake.input.ability_model, snakemake.input.language_model]
names = open_checkpoint(backbone).names
combine = settings.pop("combine")
if combine == "ties":
    # TIES's λ scales the disjoint mean; the task vectors enter with weight 1
    write_ties_merge(
        backbone, task_vector_terms(models, names, scale=1.0), snakemake.output.weights, **settings
    )
else:
    terms = task_vector_terms(models, names, scale=snakemake.params.scale)
    write_dare_merge(backbone, terms, snakemake.output.weights, **settings)
write_hf_directory(snakemake.output.weights, backbone, snakemake.output.model)
