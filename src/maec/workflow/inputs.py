"""The files the workflow reads that no rule of the method makes: the benchmarks per
language, and in the demo world every corpus and benchmark its generator writes. Pure
Python, functions of the validated config.
"""

from maec.workflow import corpora
from maec.workflow.paths import WORLD


def mgsm_questions(config, lang: str) -> str:
    return config["evaluation"]["mgsm"]["questions"].format(lang=lang)


def mmlu_file(config, split: str, lang: str) -> str:
    return config["evaluation"]["mmlu"][split].format(lang=lang)


def selection_dev(config, bench: str, lang: str) -> str:
    """The dev split a variant of the selection grid is scored on."""
    return config["experiments"]["selection"][f"{bench}_dev"].format(lang=lang)


def corpus_sources(config) -> list[str]:
    """The source of every corpus of the method (in the demo world, files it generates)."""
    return [corpora.corpus_config(config, c)["source"] for c in corpora.all_corpora(config)]


def _under_world(paths, what: str) -> list[str]:
    outside = [p for p in paths if not p.startswith(f"{WORLD}/")]
    if outside:
        raise ValueError(
            f"config: with `world` set, {what} must lie under {WORLD}/; these do not: {outside}"
        )
    return paths


def world_translations(config) -> dict[str, dict[str, str]]:
    """The translated ability corpora the demo world writes (its own rule, so that the
    world's other files stay as they were): ability -> target language -> path."""
    translations = {
        ability: {lang: spec["source"] for lang, spec in entry["translated_corpora"].items()}
        for ability, entry in config["abilities"].items()
    }
    paths = [path for by_lang in translations.values() for path in by_lang.values()]
    _under_world(paths, "translated corpora")
    return {ability: by_lang for ability, by_lang in translations.items() if by_lang}


def world_translation_outputs(config) -> list[str]:
    return [path for by_lang in world_translations(config).values() for path in by_lang.values()]


def world_outputs(config) -> list[str]:
    """Every file the world generator writes that a later rule reads."""
    sources = corpus_sources(config)
    mgsm = config["evaluation"]["mgsm"]
    mmlu = config["evaluation"]["mmlu"]
    benchmarks = [mgsm["exemplars"]]
    benchmarks += [mgsm_questions(config, lang) for lang in mgsm["languages"]]
    for lang in mmlu["languages"]:
        benchmarks += [mmlu_file(config, "test", lang), mmlu_file(config, "dev", lang)]
    benchmarks += [selection_dev(config, "mgsm", lang) for lang in mgsm["languages"]]
    benchmarks += [selection_dev(config, "mmlu", lang) for lang in mmlu["languages"]]
    return _under_world(sorted(set(sources + benchmarks)), "corpora and benchmarks")
