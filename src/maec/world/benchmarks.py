"""The demo world's benchmarks, in the real formats so the same loaders read both.

MGSM: `mgsm_{lang}.tsv` (test) and `mgsm_{lang}_dev.tsv` (dev, for choosing hyper-parameters),
`question<TAB>answer`, no header; `exemplars.json` `{lang: [{"q", "a"}]}`, 8 per language,
with the MGSM labels. Okapi multilingual MMLU: `{lang}_{split}.json`, a list of
`{instruction, option_a..option_d, answer, id}` with `id` = `subject/split/idx`.
Items are parallel across languages (one language-free item, written in every language), as
MGSM and Okapi are translations of one English set. Test and dev items never coincide.
"""

import random

from maec.world.lexicon import ANIMALS, CATEGORIES, language
from maec.world.problems import (
    MathProblem,
    ScienceItem,
    math_question,
    math_solution,
    sample_math_problem,
    science_options,
    science_question,
    seeded_rng,
)

N_EXEMPLARS = 8
# Subject of the Okapi id for each kind of science item.
SCIENCE_SUBJECTS = {"category": "high_school_biology", "property": "college_biology"}


def _distinct(rng: random.Random, n: int, sample, taken: set) -> list:
    out = []
    while len(out) < n:
        item = sample(rng)
        if item not in taken:
            taken.add(item)
            out.append(item)
    return out


def math_items(
    seed: int, n_test: int, n_dev: int, two_step_share: float
) -> dict[str, list[MathProblem]]:
    """Test, dev and exemplar problems; the same problems for every language.

    Each split mixes one-step problems (the backbone's general text has these) and two-step
    ones (only the English ability corpus has these) in the ratio two_step_share.
    """
    rng = seeded_rng(seed, "bench", "mgsm")
    taken: set = set()

    def split(n: int) -> list[MathProblem]:
        n_two = round(n * two_step_share)
        items = _distinct(rng, n - n_two, lambda r: sample_math_problem(r, 1), taken)
        items += _distinct(rng, n_two, lambda r: sample_math_problem(r, 2), taken)
        rng.shuffle(items)
        return items

    return {"test": split(n_test), "dev": split(n_dev), "exemplars": split(N_EXEMPLARS)}


def mgsm_rows(lang_code: str, problems: list[MathProblem]) -> list[tuple[str, str]]:
    lang = language(lang_code)
    return [(math_question(lang, p), str(p.answer)) for p in problems]


def mgsm_tsv(rows: list[tuple[str, str]]) -> str:
    for question, _ in rows:
        if "\t" in question or "\n" in question:
            raise ValueError(f"an MGSM question holds a tab or newline: {question!r}")
    return "".join(f"{q}\t{a}\n" for q, a in rows)


def mgsm_exemplars(lang_code: str, problems: list[MathProblem]) -> list[dict[str, str]]:
    lang = language(lang_code)
    return [
        {
            "q": f"{lang.labels.question} {math_question(lang, p)}",
            "a": f"{lang.labels.answer} {math_solution(lang, p)}",
        }
        for p in problems
    ]


def science_items(
    seed: int, n_test: int, n_dev: int, n_val: int = 0
) -> dict[str, list[ScienceItem]]:
    """Per split, n items of each kind (subject); the same items for every language.

    dev holds the few-shot examples; val is scored when choosing hyper-parameters. Each
    split deals its items to the four categories in turn, so the right letters are
    balanced (answering one letter to everything scores 25 %); no animal is asked about
    twice in one kind, in any split."""
    splits = {"test": n_test, "dev": n_dev, "val": n_val}
    per_category = min(len(animals) for animals in ANIMALS.values())
    needed = sum(-(-n // len(CATEGORIES)) for n in splits.values())
    if needed > per_category:
        raise ValueError(
            f"science items: {splits} per kind ask for up to {needed} animals of a category "
            f"over the splits; the world has {per_category} per category"
        )
    rng = seeded_rng(seed, "bench", "mmlu")
    out: dict[str, list[ScienceItem]] = {split: [] for split in splits}
    for kind in SCIENCE_SUBJECTS:
        unused = {c: rng.sample(ANIMALS[c], len(ANIMALS[c])) for c in CATEGORIES}
        for split, n in splits.items():
            first = rng.randrange(len(CATEGORIES))
            items = [
                ScienceItem(kind, unused[CATEGORIES[(first + i) % len(CATEGORIES)]].pop())
                for i in range(n)
            ]
            rng.shuffle(items)
            out[split] += items
    return out


def okapi_records(lang_code: str, split: str, items: list[ScienceItem]) -> list[dict[str, str]]:
    lang = language(lang_code)
    records, index = [], {kind: 0 for kind in SCIENCE_SUBJECTS}
    for item in items:
        options = science_options(lang, item)
        subject = SCIENCE_SUBJECTS[item.kind]
        records.append(
            {
                "instruction": science_question(lang, item),
                "option_a": options[0],
                "option_b": options[1],
                "option_c": options[2],
                "option_d": options[3],
                "answer": item.letter,
                "id": f"{subject}/{split}/{index[item.kind]}",
            }
        )
        index[item.kind] += 1
    return records
