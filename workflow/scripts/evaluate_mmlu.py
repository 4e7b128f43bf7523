from maec.evaluation.mmlu import evaluate_mmlu
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
for lang, test, dev, examples, score in zip(
    snakemake.params.languages,
    snakemake.input.test,
    snakemake.input.dev,
    snakemake.output.examples,
    snakemake.output.scores,
):
    evaluate_mmlu(
        snakemake.input.model,
        test,
        dev,
        lang,
        examples,
        score,
        n_shots=snakemake.params.n_shots,
        subjects=snakemake.params.subjects,
        batch_size=snakemake.params.batch_size,
        limit=snakemake.params.limit,
    )
