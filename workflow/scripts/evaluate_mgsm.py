from maec.evaluation.mgsm import evaluate_mgsm
from maec.joblog import log_job_to

log_job_to(snakemake.log[0])
for lang, questions, examples, score in zip(
    snakemake.params.languages,
    snakemake.input.questions,
    snakemake.output.examples,
    snakemake.output.scores,
):
    evaluate_mgsm(
        snakemake.input.model,
        questions,
        snakemake.input.exemplars,
        lang,
        examples,
        score,
        n_shots=snakemake.params.n_shots,
        chain_of_thought=snakemake.params.chain_of_thought,
        max_new_tokens=snakemake.params.max_new_tokens,
        batch_size=snakemake.params.batch_size,
        limit=snakemake.params.limit,
    )
