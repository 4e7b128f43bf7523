"""Figure 5b and 5c: how alike the models trained on each corpus are (the importance CPT
runs: full CPT of the backbone on one corpus each, read in float32)."""

from maec.report.figures import plot_update_layer_cosines, plot_update_similarity
from maec.report.updates import update_similarity
from maec.training.masters import float32_masters
from maec.workflow.joblog import log_job_to

log_job_to(snakemake.log[0])
models = {
    corpus: float32_masters(run)
    for corpus, run in zip(snakemake.params.corpora, snakemake.input.runs)
}
similarity = update_similarity(snakemake.input.backbone, models)
similarity.to_csv(snakemake.output.csv, index=False)
plot_update_layer_cosines(
    similarity, snakemake.params.pairs, snakemake.output.layers_png, snakemake.output.layers_pdf
)
plot_update_similarity(similarity, snakemake.output.png, snakemake.output.pdf)
