import json

from maec.joblog import log_job_to
from maec.tables import training_tokens_of, write_results_table, write_scores_long

log_job_to(snakemake.log[0])
labels = snakemake.params.labels
scores = []
for path in snakemake.input.scores:
    score = json.loads(open(path, encoding="utf-8").read())
    score["model"] = labels[path.split("/")[-2]]
    scores.append(score)
tokens = {
    label: training_tokens_of(dirs) for label, dirs in snakemake.params.training_dirs.items()
}
write_results_table(scores, tokens, snakemake.output.csv, snakemake.output.md)
write_scores_long(scores, snakemake.output.scores)
