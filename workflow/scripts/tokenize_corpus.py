from maec.data.sources import check_corpus
from maec.data.tokens import pack_corpus
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
corpus = snakemake.params.corpus
check_corpus(corpus, snakemake.params.key)  # loads, and has the text field: before tokenizing
pack_corpus(
    corpus["source"],
    snakemake.input.tokenizer,
    snakemake.output.blocks.removesuffix(".npy"),
    block_size=snakemake.params.block_size,
    max_tokens=snakemake.params.max_tokens,
    text_field=corpus["text_field"],
    split=corpus["split"],
    name=corpus["name"],
    data_files=corpus["data_files"],
)
