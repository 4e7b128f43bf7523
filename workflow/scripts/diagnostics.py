from maec.report.diagnostics import write_diagnostics
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
write_diagnostics(
    snakemake.input.similarity,
    snakemake.output.csv,
    snakemake.output.md,
    snakemake.input.rounding,
)
