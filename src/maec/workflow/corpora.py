"""Corpora and training runs by name, and what the config says of each.

A **corpus name** is `general_{lang}` (a language's general corpus) or `{ability}_{lang}`
(an ability corpus: in the reference language L0 the configured one, in a target language a
translation of it); an ability name holds no `_`, so the first `_` splits the two. A
**run name** is the corpora a training run trains on, joined by `+` in mixture order
(`math_en+general_en`). The masked CPT runs of the method (docs/method.md, step 3) are the
ability run Θ_{A,L0}, the reference run Θ_{L0} and a language run Θ_{Li,L0} per target
language. Pure Python, functions of the validated config.
"""

import os
from pathlib import Path

from maec.workflow.paths import translation_file

GENERAL = "general"  # the first part of a general corpus's name


def reference_language(config) -> str:
    return config["reference_language"]


def target_languages(config) -> list[str]:
    return config["languages"]


def all_languages(config) -> list[str]:
    """L0, then the target languages L1..Ln."""
    return [reference_language(config), *target_languages(config)]


# ---- corpus names ---------------------------------------------------------------------------


def corpus_name(kind: str, lang: str) -> str:
    """`kind` is `general` or an ability."""
    return f"{kind}_{lang}"


def parse_corpus(corpus: str) -> tuple[str, str]:
    """(kind, language) of a corpus name: the inverse of `corpus_name`."""
    kind, underscore, lang = corpus.partition("_")
    if not underscore or not kind or not lang:
        raise ValueError(f"corpus name {corpus!r}: a name is {{general|ability}}_{{language}}")
    return kind, lang


def general_corpus(lang: str) -> str:
    return corpus_name(GENERAL, lang)


def ability_corpus(config, ability: str) -> str:
    """The ability's corpus, in the reference language."""
    return corpus_name(ability, reference_language(config))


def translated_corpus(ability: str, lang: str) -> str:
    """The ability corpus translated into a target language (F-CPT_{L&T}, F-CPT_T)."""
    return corpus_name(ability, lang)


def translation_languages(config, ability: str) -> list[str]:
    """The languages of the ability's translated corpora: those the config names, else
    those the `translation` model translates it into."""
    given = config["abilities"][ability]["translated_corpora"]
    if given or "translation" not in config:
        return list(given)
    return config["translation"]["languages"]


def is_machine_translated(config, corpus: str) -> bool:
    """Whether the workflow's `translation` rule makes this corpus."""
    kind, lang = parse_corpus(corpus)
    return (
        kind != GENERAL
        and lang != reference_language(config)
        and lang not in config["abilities"][kind]["translated_corpora"]
    )


def translated_corpora(config, ability: str) -> list[str]:
    return [translated_corpus(ability, lang) for lang in translation_languages(config, ability)]


def general_corpora(config) -> list[str]:
    """Every language's general corpus, L0's first."""
    return [general_corpus(lang) for lang in all_languages(config)]


def all_corpora(config) -> list[str]:
    """The corpora of the method: every language's general corpus and every ability's."""
    return general_corpora(config) + [ability_corpus(config, a) for a in config["abilities"]]


def corpus_key(config, corpus: str) -> str:
    """The config key of a corpus: general_corpora.{lang} or abilities.{ability}.corpus."""
    kind, lang = parse_corpus(corpus)
    if kind == GENERAL:
        return f"general_corpora.{lang}"
    return f"abilities.{kind}.corpus"


def corpus_config(config, corpus: str) -> dict:
    """The config entry of a corpus (source, name, data_files, split, text_field)."""
    kind, lang = parse_corpus(corpus)
    if kind == GENERAL:
        return config["general_corpora"][lang]
    if lang == reference_language(config):
        return config["abilities"][kind]["corpus"]
    if is_machine_translated(config, corpus):
        return dict(
            source=translation_file(corpus),
            name=None,
            data_files=None,
            split="train",
            text_field="text",
        )
    return config["abilities"][kind]["translated_corpora"][lang]


def corpus_role(config, corpus: str) -> str:
    """What a corpus is to a mixture: ability, reference (L0's general corpus) or language."""
    kind, lang = parse_corpus(corpus)
    if kind != GENERAL:
        return "ability"
    return "reference" if lang == reference_language(config) else "language"


def is_local_path(source: str) -> bool:
    """Whether a source names a local file or directory (else it is a hub id)."""
    return (
        os.path.isabs(source)
        or source.startswith(("results/", "./", "../"))
        or Path(source).exists()
    )


def corpus_files(config, corpus: str) -> list[str]:
    """The corpus file when it is local (so the DAG connects it), else nothing (a hub id)."""
    source = corpus_config(config, corpus)["source"]
    return [source] if is_local_path(source) else []


def corpus_reading(config, corpus: str) -> dict:
    """How the tokenizer reads a corpus: its source and the `datasets` arguments."""
    entry = corpus_config(config, corpus)
    return {key: entry[key] for key in ("source", "name", "data_files", "split", "text_field")}


# ---- training runs ------------------------------------------------------------------------


def run_name(corpora) -> str:
    return "+".join(corpora)


def run_corpora(run: str) -> list[str]:
    """The corpora of a run name: the inverse of `run_name`."""
    return run.split("+")


def ability_run(config, ability: str) -> str:
    """Θ_{A,L0}: masked CPT on the ability corpus mixed with the reference general corpus
    (the paper's Section 4.1; `masked_cpt.ability_run: mixture`), or on the ability corpus
    alone (its Algorithm 1, line 5; `ability`); over N_A ∪ N_L0 either way (`run_mask`)."""
    corpus = ability_corpus(config, ability)
    if config["masked_cpt"]["ability_run"] == "ability":
        return corpus
    return run_name([corpus, general_corpus(reference_language(config))])


def reference_run(config) -> str:
    """Θ_{L0}: masked CPT on the reference general corpus."""
    return general_corpus(reference_language(config))


def language_run(config, lang: str) -> str:
    """Θ_{Li,L0} (language weights mode eq2) or Θ_{Li} (plain)."""
    if config["language_weights"]["mode"] == "eq2":
        return run_name([general_corpus(lang), general_corpus(reference_language(config))])
    return general_corpus(lang)


def masked_runs(config, ability: str) -> list[str]:
    """The masked CPT runs of one ability's MAEC model: its ability run, the reference run
    and every language run."""
    return [ability_run(config, ability), reference_run(config)] + [
        language_run(config, lang) for lang in target_languages(config)
    ]


def run_mask(config, run: str) -> list[str]:
    """The corpora whose key neurons a masked run trains: its own (N_A ∪ N_L0, N_L0,
    N_Li ∪ N_L0), and N_L0 besides for the ability corpus alone (Algorithm 1, line 5)."""
    corpora = run_corpora(run)
    if len(corpora) == 1 and parse_corpus(corpora[0])[0] != GENERAL:
        return [*corpora, general_corpus(reference_language(config))]
    return corpora


def run_mixture(config, run: str, weights=None) -> list[float]:
    """The mixture weight of each corpus of a run, by the corpus's role: `weights`
    (default masked_cpt.mixture, the masked runs'; the baselines have their own)."""
    weights = weights or config["masked_cpt"]["mixture"]
    return [weights[corpus_role(config, corpus)] for corpus in run_corpora(run)]
