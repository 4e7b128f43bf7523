"""Table 2's token accounting before any run: each row's counted runs and their budgets."""

from maec.io.atomic import write_text
from maec.report.tables import markdown_table, token_budget
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
records, totals = token_budget(snakemake.params.runs, snakemake.params.order)
write_text(snakemake.output.csv, records.to_csv(index=False))
write_text(
    snakemake.output.md,
    markdown_table(totals)
    + "\nPlanned #Tokens (B) per row and ability: the configured budgets of the runs the row's "
    "model depends on (docs/evaluation.md); the CSV lists the runs.\n",
)
