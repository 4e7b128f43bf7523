import json

from maec.joblog import log_job_to
from maec.tables import training_tokens_of, write_results_table

log_job_to(snakemake.log[0])
scores = []
for path in snakemake.input.scores:
    score = json.loads(open(path, encoding="utf-8").read())
    score["model"] = path.split("/")[-2]
    scores.append(score)
write_results_table(
    scores,
    {
        f"maec_{ability}": training_tokens_of(dirs)
        for ability, dirs in snakemake.params.training_dirs.items()
    },
    snakemake.output.csv,
    snakemake.output.md,
)
