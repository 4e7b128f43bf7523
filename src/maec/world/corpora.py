"""The demo world's corpora: general text in every language, ability text in English only.

General text mixes everyday sentences, animal facts (which animal is in which category, what
every category has) and a share of easy items: one-step math problems and one-fact
multiple-choice questions, in every language. So a backbone pretrained on it has some of
each ability in every language, as real LLMs do. The English ability corpora hold the harder
items: two-step problems with their chain of equations (math) and two-fact questions with an
explanation (science); the benchmarks test both kinds.
"""

import random

from maec.world.lexicon import ANIMALS, CATEGORIES, OBJECTS, PLACES, PROPERTIES, Language, language
from maec.world.problems import (
    math_document,
    sample_math_problem,
    sample_science_item,
    science_document,
    seeded_rng,
)

ABILITIES = ("math", "science")
# Ability text also holds some easy items, so that ability CPT does not unlearn them.
EASY_IN_ABILITY = 0.2


def _sentence(lang: Language, rng: random.Random) -> str:
    kind = rng.choice(("has", "goes", "likes", "sees", "is_a", "prop"))
    name = rng.choice(lang.names)
    if kind == "has":
        return lang.patterns["has"].format(
            name=name, n=rng.randint(1, 20), obj=lang.objects[rng.choice(OBJECTS)]
        )
    if kind == "goes":
        return lang.patterns["goes"].format(name=name, place=lang.places[rng.choice(PLACES)])
    if kind == "likes":
        return lang.patterns["likes"].format(name=name, obj=lang.objects[rng.choice(OBJECTS)])
    category = rng.choice(CATEGORIES)
    animal = lang.animals[rng.choice(ANIMALS[category])]
    if kind == "sees":
        return lang.patterns["sees"].format(
            name=name, animal=animal, place=lang.places[rng.choice(PLACES)]
        )
    if kind == "is_a":
        return lang.patterns["is_a"].format(animal=animal, category=lang.categories[category])
    return lang.patterns["prop"].format(
        category=lang.categories[category], property=lang.properties[PROPERTIES[category]]
    )


def general_document(
    lang: Language, rng: random.Random, easy_share: float, two_step_share: float
) -> str:
    """A paragraph of everyday sentences, or (with probability easy_share) an easy item.

    A small share (two_step_share) of the math items are two-step problems, so the backbone
    starts weak but not at zero on them in every language.
    """
    if rng.random() < easy_share:
        if rng.random() < 0.5:
            return math_document(
                lang, sample_math_problem(rng, 2 if rng.random() < two_step_share else 1)
            )
        return science_document(lang, sample_science_item(rng, "category"), explain=False)
    sep = "" if lang.code == "zh" else " "
    return sep.join(_sentence(lang, rng) for _ in range(rng.randint(3, 8)))


def general_corpus(
    lang_code: str, n_docs: int, seed: int, easy_share: float = 0.6, two_step_share: float = 0.2
) -> list[str]:
    lang = language(lang_code)
    rng = seeded_rng(seed, "corpus", "general", lang_code)
    return [general_document(lang, rng, easy_share, two_step_share) for _ in range(n_docs)]


def ability_corpus(ability: str, n_docs: int, seed: int, lang_code: str = "en") -> list[str]:
    """English documents of the ability: two-step problems, or explained two-fact questions.

    Another `lang_code` writes the same documents (the same items, drawn from the English
    corpus's seed) in that language: the world's translation of the ability corpus, exact
    as no machine translation is, for the baselines trained on translated ability text."""
    lang = language(lang_code)
    rng = seeded_rng(seed, "corpus", ability, "en")
    if ability == "math":
        return [
            math_document(
                lang, sample_math_problem(rng, 1 if rng.random() < EASY_IN_ABILITY else 2)
            )
            for _ in range(n_docs)
        ]
    if ability == "science":
        return [
            science_document(
                lang,
                sample_science_item(
                    rng, "category" if rng.random() < EASY_IN_ABILITY else "property"
                ),
                explain=True,
            )
            for _ in range(n_docs)
        ]
    raise ValueError(f"unknown demo-world ability {ability!r}; known: {', '.join(ABILITIES)}")
