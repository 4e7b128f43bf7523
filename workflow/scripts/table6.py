"""Table 6: the tokens of every training corpus and the items of every benchmark."""

from maec.io.atomic import write_text
from maec.report.tables import markdown_table
from maec.report.tables.data_stats import benchmark_statistics, corpus_statistics
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
corpora = corpus_statistics(dict(zip(snakemake.params.corpora, snakemake.input.summaries)))
benchmarks = benchmark_statistics(snakemake.input.scores)
corpora.to_csv(snakemake.output.corpora)
benchmarks.to_csv(snakemake.output.benchmarks)
write_text(
    snakemake.output.md,
    "Training corpora (tokens: packed into whole blocks, those the runs draw from)\n\n"
    f"{markdown_table(corpora, 0)}\nEvaluation items scored per language\n\n"
    f"{markdown_table(benchmarks, 0)}",
)
