"""Language-free items of the demo world and how each language writes them.

A math problem is a start amount and one or more events (add or take away); its step-by-step
solution is a chain of equations with ASCII digits, the same in every language, closed by the
language's answer phrase. A science item asks which of four animals is in a category (one
fact) or has a property (two facts chained: animal -> category -> property).
"""

import random
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ScienceItem:
    kind: str  # "category" (one fact) or "property" (two facts chained)
    category: str
    options: tuple[str, ...]  # four animals
    answer: int  # index of the right option

    @property
    def letter(self) -> str:
        return LETTERS[self.answer]


def sample_science_item(rng: random.Random, kind: str) -> ScienceItem:
    category = rng.choice(CATEGORIES)
    right = rng.choice(ANIMALS[category])
    others = [
        rng.choice(ANIMALS[c]) for c in rng.sample([c for c in CATEGORIES if c != category], 3)
    ]
    options = [right, *others]
    rng.shuffle(options)
    return ScienceItem(kind, category, tuple(options), options.index(right))


def science_question(lang: Language, item: ScienceItem) -> str:
    if item.kind == "category":
        return lang.patterns["which_is"].format(category=lang.categories[item.category])
    prop = lang.properties[PROPERTIES[item.category]]
    return lang.patterns["which_has"].format(property=prop)


def science_options(lang: Language, item: ScienceItem) -> list[str]:
    return [lang.animals[a] for a in item.options]


def science_explanation(lang: Language, item: ScienceItem) -> str:
    prop = lang.properties[PROPERTIES[item.category]]
    return lang.patterns["because"].format(
        animal=lang.animals[item.options[item.answer]],
        category=lang.categories[item.category],
        property=prop,
    )


def science_document(lang: Language, item: ScienceItem, explain: bool) -> str:
    """A multiple-choice item as an MMLU-style prompt lays it out, with its answer letter."""
    lines = [science_question(lang, item)]
    lines += [f"{letter}. {option}" for letter, option in zip(LETTERS, science_options(lang, item))]
    lines.append(f"{lang.labels.direct_answer} {item.letter}")
    if explain:
        lines.append(science_explanation(lang, item))
    return "\n".join(lines)


def _join(lang: Language, sentences: list[str]) -> str:
    return ("" if lang.code == "zh" else " ").join(sentences)
