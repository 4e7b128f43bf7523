"""Language-free items of the demo world and how each language writes them.

A math problem is a start amount and one or more events (add or take away); its step-by-step
solution is a chain of equations with ASCII digits, the same in every language, closed by the
language's answer phrase. A science item asks which category an animal is in (one fact) or
which property it has (two facts chained: animal -> category -> property); its options are
the four categories or the four properties, in a fixed order.
"""

import random
from dataclasses import dataclass

from maec.evaluation.loaders import MultipleChoiceQuestion
from maec.evaluation.mmlu import question_text
from maec.world.lexicon import (
    ADD_VERBS,
    ANIMALS,
    CATEGORIES,
    N_NAMES,
    OBJECTS,
    PROPERTIES,
    Language,
)

LETTERS = "ABCD"


def seeded_rng(seed: int, *parts: str) -> random.Random:
    """An RNG fixed by the world's seed and the name of what it generates (order-independent)."""
    return random.Random("/".join([str(seed), *parts]))


@dataclass(frozen=True)
class MathProblem:
    name: int
    obj: str
    start: int
    events: tuple[tuple[str, int], ...]  # (verb concept, amount)

    def steps(self) -> list[tuple[int, str, int, int]]:
        """(left, operator, right, result) for every event, in order."""
        out, total = [], self.start
        for verb, n in self.events:
            op = "+" if verb in ADD_VERBS else "-"
            new = total + n if op == "+" else total - n
            out.append((total, op, n, new))
            total = new
        return out

    @property
    def answer(self) -> int:
        return self.steps()[-1][3]


def sample_math_problem(rng: random.Random, n_events: int) -> MathProblem:
    """Amounts stay small (operands below 10 added to totals below 30) and never go below 1."""
    total = rng.randint(2, 9)
    start, events = total, []
    for _ in range(n_events):
        if total > 1 and rng.random() < 0.5:
            verb, n = rng.choice(("give", "eat", "lose")), rng.randint(1, min(9, total - 1))
            total -= n
        else:
            verb, n = rng.choice(ADD_VERBS), rng.randint(1, 9)
            total += n
        events.append((verb, n))
    return MathProblem(rng.randrange(N_NAMES), rng.choice(OBJECTS), start, tuple(events))


def math_question(lang: Language, p: MathProblem) -> str:
    name, obj = lang.names[p.name], lang.objects[p.obj]
    parts = [lang.patterns["has"].format(name=name, n=p.start, obj=obj)]
    for verb, n in p.events:
        kind = "add" if verb in ADD_VERBS else "sub"
        parts.append(lang.patterns[kind].format(name=name, verb=lang.verbs[verb], n=n, obj=obj))
    parts.append(lang.patterns["ask"].format(name=name, obj=obj))
    return _join(lang, parts)


def math_solution(lang: Language, p: MathProblem) -> str:
    """The step-by-step answer, without its label: equations, then '<answer phrase> N<stop>'."""
    equations = " ".join(f"{a} {op} {b} = {c}{lang.stop}" for a, op, b, c in p.steps())
    return f"{equations} {lang.labels.answer_phrase} {p.answer}{lang.stop}"


def math_document(lang: Language, p: MathProblem) -> str:
    """A solved problem as the MGSM chain-of-thought prompt lays it out."""
    return (
        f"{lang.labels.question} {math_question(lang, p)}\n"
        f"{lang.labels.answer} {math_solution(lang, p)}"
    )


# The options of a science question: always the four categories, or the four properties,
# in one fixed order. Finding the shuffled option that matches a fact is beyond a two-layer
# model of the demo's size (with shuffled options it answered one letter to every
# question); with a fixed order the letter is a fact of its own, which it can learn. The
# property order is not the category order, so knowing an animal's category does not
# answer the two-fact question without the chain.
OPTION_CATEGORIES = {
    "category": CATEGORIES,
    "property": ("mammal", "insect", "fish", "bird"),
}
CATEGORY_OF = {animal: category for category in CATEGORIES for animal in ANIMALS[category]}


@dataclass(frozen=True)
class ScienceItem:
    kind: str  # "category" (one fact) or "property" (two facts chained)
    animal: str

    @property
    def category(self) -> str:
        return CATEGORY_OF[self.animal]

    @property
    def answer(self) -> int:
        """Index of the right option."""
        return OPTION_CATEGORIES[self.kind].index(self.category)

    @property
    def letter(self) -> str:
        return LETTERS[self.answer]


def sample_science_item(rng: random.Random, kind: str) -> ScienceItem:
    return ScienceItem(kind, rng.choice(ANIMALS[rng.choice(CATEGORIES)]))


def science_question(lang: Language, item: ScienceItem) -> str:
    pattern = "which_is" if item.kind == "category" else "which_has"
    return lang.patterns[pattern].format(animal=lang.animals[item.animal])


def science_options(lang: Language, item: ScienceItem) -> list[str]:
    if item.kind == "category":
        return [lang.categories[c] for c in OPTION_CATEGORIES["category"]]
    return [lang.properties[PROPERTIES[c]] for c in OPTION_CATEGORIES["property"]]


def science_explanation(lang: Language, item: ScienceItem) -> str:
    return lang.patterns["because"].format(
        animal=lang.animals[item.animal],
        category=lang.categories[item.category],
        property=lang.properties[PROPERTIES[item.category]],
    )


def science_document(lang: Language, item: ScienceItem, explain: bool) -> str:
    """A multiple-choice item exactly as the Okapi prompt lays it out (`question_text`:
    question, options A-D, "Answer:" in every language), then its letter."""
    question = MultipleChoiceQuestion(
        science_question(lang, item), tuple(science_options(lang, item)), item.answer, "", ""
    )
    text = f"{question_text(question)} {item.letter}"
    return f"{text}\n{science_explanation(lang, item)}" if explain else text


def _join(lang: Language, sentences: list[str]) -> str:
    return ("" if lang.code == "zh" else " ").join(sentences)
