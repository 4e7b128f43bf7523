from maec.data.translation import translate_corpus
from maec.training.device import resolve_device
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
translate_corpus(
    snakemake.params.reading,
    snakemake.input.model,
    snakemake.output.corpus,
    source_code=snakemake.params.source_code,
    target_code=snakemake.params.target_code,
    max_tokens=snakemake.params.max_tokens,
    max_length=snakemake.params.max_length,
    batch_size=snakemake.params.batch_size,
    device=str(resolve_device(None)),  # a GPU where the job has one, as the evaluations
)
