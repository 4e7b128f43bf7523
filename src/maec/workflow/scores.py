"""The score files a table reads, with the training seed of each, and the settings every
results-style table shares. Pure Python, functions of the validated config.

A trained model (`maec.workflow.models.is_trained`) is scored once per training seed, the
backbone and the reference models once; a table gets each score file's seed beside it.
"""

from maec.workflow.benchmarks import benchmark_languages
from maec.workflow.jobs import seed_dir_of, training_seeds
from maec.workflow.model_names import format_model, is_trained, parse_model
from maec.workflow.models import MODEL_KINDS
from maec.workflow.paths import eval_scores


def benchmark_of(config, ability: str) -> str:
    return config["abilities"][ability]["benchmark"]


def bench_scores(config, models, bench: str, dev: bool = False, seed_part: str = "") -> list:
    """The score files of models on a benchmark: one per language it is scored in."""
    return [
        eval_scores(model, bench, lang, dev, seed_part)
        for model in models
        for lang in benchmark_languages(config, bench)
    ]


def seeded_scores(config, models, bench: str) -> list[tuple[int, str]]:
    """The score files of models on a benchmark, of every seed where a model is trained,
    as (seed, path) pairs: the first seed's of every model, then each other seed's."""
    first, *others = training_seeds(config)
    models = list(models)
    trained = [model for model in models if is_trained(model)]
    return [(first, path) for path in bench_scores(config, models, bench)] + [
        (seed, path)
        for seed in others
        for path in bench_scores(config, trained, bench, seed_part=seed_dir_of(config, seed))
    ]


# ---- the results table (the default target) ---------------------------------------------


def results_models(config) -> list[str]:
    return ["backbone"] + [format_model("maec", a) for a in config["abilities"]]


def results_benches(config, model: str) -> list[str]:
    """The benchmarks a model is evaluated on: the backbone on every benchmark, in the
    order of the abilities, a merged model on the benchmark of its ability."""
    if model == "backbone":
        return list(dict.fromkeys(benchmark_of(config, a) for a in config["abilities"]))
    return [benchmark_of(config, parse_model(model).ability)]


def results_scores(config) -> list[tuple[int, str]]:
    """(seed, score file) of every score of the results table, every seed's."""
    return [
        pair
        for model in results_models(config)
        for bench in results_benches(config, model)
        for pair in seeded_scores(config, [model], bench)
    ]


def results_labels(config) -> dict[str, str]:
    """Table rows: one MAEC row holds each ability's merged model on its own benchmark."""
    maec = MODEL_KINDS["maec"].label
    return {"backbone": "backbone"} | {format_model("maec", a): maec for a in config["abilities"]}


def results_training(config) -> dict[str, dict[str, list[str]]]:
    """Training runs per table row and benchmark, for #Tokens and ICER."""
    maec = MODEL_KINDS["maec"]
    return {
        maec.label: {
            benchmark_of(config, a): sorted(maec.training_runs(config, a))
            for a in config["abilities"]
        }
    }


def training_run_dirs(training) -> list[str]:
    """Every run directory of a {label: {bench: [dirs]}} table (a rule's input)."""
    return sorted({d for by_bench in training.values() for dirs in by_bench.values() for d in dirs})


def averaged_languages(config) -> dict:
    """bench -> the languages Avg covers (None: every language the bench scores)."""
    return {benchmark_of(config, a): spec["average"] for a, spec in config["abilities"].items()}


def table_options(config) -> dict:
    """What every results-style table shares: its averages and how ICER is computed."""
    return dict(
        averaged=averaged_languages(config), icer_decimals=config["tables"]["icer_decimals"]
    )


def interval_options(config) -> dict:
    """The bootstrap of the tables' intervals: resamples, seed, level."""
    return dict(config["tables"]["intervals"])
