"""Agreement with lm-evaluation-harness's MGSM flexible-extract rule and exact-match metric.

The rule (regex and group) and the metric's options are read from the installed
`lm_eval` package's task files at test time, and applied with its own filter and metric
functions. On ordinary outputs (ASCII integers, optional thousands commas, currency sign,
trailing full stop, words after the number) the verdicts agree exactly; each kind of
output on which this project decides differently on purpose is checked to differ, as
docs/evaluation.md lists.
"""

import random
from importlib import resources

import pytest

yaml = pytest.importorskip("yaml")
pytest.importorskip("lm_eval")
from lm_eval.api.metrics import exact_match_hf_evaluate  # noqa: E402
from lm_eval.filters.extraction import RegexFilter  # noqa: E402

from maec.evaluation.extraction import extract_flexible, is_correct, parse_gold  # noqa: E402

TASKS = resources.files("lm_eval.tasks") / "mgsm" / "native_cot"


def _task(lang: str) -> dict:
    return yaml.safe_load((TASKS / f"mgsm_native_cot_{lang}.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def harness():
    """lm-eval's verdict for (output, gold): its flexible-extract filter, then exact match."""
    flexible = next(f for f in _task("en")["filter_list"] if f["name"] == "flexible-extract")
    regex = next(step for step in flexible["filter"] if step["function"] == "regex")
    metric = next(
        m
        for m in yaml.safe_load((TASKS / "cot_yaml").read_text())["metric_list"]
        if m["metric"] == "exact_match"
    )
    options = {k: metric[k] for k in ("ignore_case", "ignore_punctuation") if k in metric}
    extract = RegexFilter(
        regex_pattern=regex["regex_pattern"], group_select=regex.get("group_select", 0)
    )

    def verdict(output: str, gold: str) -> bool:
        prediction = list(extract.apply([[output]], [{}]))[0][0]
        return bool(
            exact_match_hf_evaluate(predictions=[prediction], references=[gold], **options)[
                "exact_match"
            ]
        )

    return verdict


def test_every_language_uses_the_same_flexible_rule():
    rules = set()
    for path in TASKS.iterdir():
        if path.name.startswith("mgsm_native_cot_") and path.name.endswith(".yaml"):
            task = yaml.safe_load(path.read_text(encoding="utf-8"))
            rule = next(f for f in task["filter_list"] if f["name"] == "flexible-extract")
            rules.add(repr(rule))
    assert len(rules) == 1


def ours(output: str, gold: str) -> bool:
    return is_correct(extract_flexible(output), parse_gold(gold))


WORDS = [
    "apples",
    "so",
    "she",
    "has",
    "left",
    "in",
    "total",
    "tiene",
    "উত্তর",
    "答案",
    "each",
    "per",
    "day",
]


def _integer(rng: random.Random) -> int:
    return rng.choice([rng.randint(0, 9), rng.randint(10, 999), rng.randint(1000, 999_999)])


def _ordinary(rng: random.Random, value: int) -> str:
    """An ASCII integer as models write it: optional thousands commas, currency, full stop."""
    text = f"{value:,}" if value >= 1000 and rng.random() < 0.5 else str(value)
    if rng.random() < 0.3:
        text = "$" + text
    if rng.random() < 0.5:
        text += "."
    return text


def _ordinary_output(rng: random.Random) -> tuple[str, str]:
    """A chain of thought: equations and words, a final answer, maybe words after it."""
    steps = []
    for _ in range(rng.randint(0, 4)):
        a, b = _integer(rng), _integer(rng)
        steps.append(f"{rng.choice(WORDS)} {a} + {b} = {a + b} {rng.choice(WORDS)}.")
    final = _integer(rng)
    phrase = rng.choice(["The answer is", "La respuesta es", "উত্তর হল", "答案是", "", "="])
    after = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
    output = " ".join(steps + [f"{phrase} {_ordinary(rng, final)}", after]).strip()
    gold = final if rng.random() < 0.6 else _integer(rng)
    return output, f"{gold:,}" if rng.random() < 0.2 else str(gold)


def test_agreement_on_ordinary_outputs(harness):
    rng = random.Random(20240601)
    cases = [_ordinary_output(rng) for _ in range(3000)]
    disagreements = [(o, g) for o, g in cases if harness(o, g) != ours(o, g)]
    assert disagreements == []
    assert 0.3 < sum(ours(o, g) for o, g in cases) / len(cases) < 0.9  # both verdicts occur


# Intentional differences: (output, gold, lm-eval's verdict, ours), one group per reason.
DIFFERENCES = {
    "decimal point (lm-eval deletes punctuation, so 3.50 equals 350)": [
        ("The answer is 3.50", "350", True, False),
        ("The answer is 12.5", "125", True, False),
    ],
    "trailing .0 (numbers are compared as numbers)": [("The answer is 11.0", "11", False, True)],
    "minus sign (lm-eval deletes it, so -5 equals 5)": [("The answer is -5", "5", True, False)],
    "decimal comma (3,5 is 3.5, not 35)": [("La respuesta es 3,5", "35", True, False)],
    "native digits (Bengali, Telugu, Thai, full-width)": [
        ("উত্তর হল ১১।", "11", False, True),
        ("సమాధానం ౧౧.", "11", False, True),
        ("คำตอบคือ ๑๑", "11", False, True),
        ("答案是 １１。", "11", False, True),
    ],
    "punctuation after the number (lm-eval's last match is '...')": [
        ("The answer is 11. Done...", "11", False, True),
        ("The answer is 11. ..", "11", False, True),
    ],
    "space or no-break-space thousands (2 125)": [
        ("La réponse est 2\u00a0125.", "2125", False, True)
    ],
}


@pytest.mark.parametrize("reason", sorted(DIFFERENCES))
def test_documented_differences(harness, reason):
    for output, gold, theirs, mine in DIFFERENCES[reason]:
        assert harness(output, gold) is theirs, output
        assert ours(output, gold) is mine, output


BENGALI = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
# (how a model may write the number v, the documented reason when the verdicts may differ)
FORMATS = [
    (lambda v: str(v), None),
    (lambda v: f"{v:,}", None),
    (lambda v: f"${v}", None),
    (lambda v: f"{v}.", None),
    (lambda v: f"{v}.0", "trailing .0 (numbers are compared as numbers)"),
    (lambda v: f"-{v}", "minus sign (lm-eval deletes it, so -5 equals 5)"),
    (lambda v: f"{v}. Hmm...", "punctuation after the number (lm-eval's last match is '...')"),
    (lambda v: str(v).translate(BENGALI), "native digits (Bengali, Telugu, Thai, full-width)"),
    (lambda v: f"{v // 10},{v % 10}", "decimal comma (3,5 is 3.5, not 35)"),
    (lambda v: f"{v / 4:.2f}", "decimal point (lm-eval deletes punctuation, so 3.50 equals 350)"),
]


def test_random_outputs_differ_only_for_documented_reasons(harness):
    """Outputs mixing every format: the verdicts differ only where a documented format is used."""
    rng = random.Random(7)
    seen = set()
    for _ in range(4000):
        value = rng.randint(10, 99_999)
        write, reason = rng.choice(FORMATS)
        output = f"{rng.choice(WORDS)} {write(value)} {rng.choice(WORDS)}"
        if harness(output, str(value)) != ours(output, str(value)):
            assert reason in DIFFERENCES, output
            seen.add(reason)
    assert len(seen) >= 4


def _render(template: str, **doc) -> str:
    jinja2 = pytest.importorskip("jinja2")
    return jinja2.Template(template, keep_trailing_newline=True).render(**doc)


# Languages whose harness prompt differs from the exemplars' own labels (docs/evaluation.md).
PROMPT_DIFFERENCES = {
    # space after the full-width colon; ASCII colon in the answer label
    "zh": "问题： q\n逐步解答:",
    "ja": "問題： q\nステップごとの答え:",
    "ru": "Задача: q\nПошаговоерешение:",  # the harness's label lacks a space
}


@pytest.mark.parametrize("lang", ["bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh"])
def test_mgsm_question_prompt_matches_the_harness(lang):
    from maec.evaluation.languages import MGSM_LABELS
    from maec.evaluation.mgsm import mgsm_prompt

    harness_text = _render(_task(lang)["doc_to_text"], question="q", answer=None)
    ours_text = mgsm_prompt("q", [], MGSM_LABELS[lang])
    if lang in PROMPT_DIFFERENCES:
        assert harness_text == PROMPT_DIFFERENCES[lang] and ours_text != harness_text
    else:
        assert ours_text == harness_text
    assert _task(lang)["generation_kwargs"]["until"][0] == MGSM_LABELS[lang].question


def test_mmlu_question_text_matches_the_harness():
    from maec.evaluation.loaders import MultipleChoiceQuestion
    from maec.evaluation.mmlu import question_text

    okapi = resources.files("lm_eval.tasks") / "okapi" / "mmlu_multilingual" / "_default_yaml"
    template = yaml.safe_load(okapi.read_text(encoding="utf-8"))["doc_to_text"]
    doc = {
        "instruction": " ¿Qué es? ",
        "option_a": "uno",
        "option_b": "dos",
        "option_c": "tres",
        "option_d": "cuatro",
    }
    question = MultipleChoiceQuestion(
        "¿Qué es?", ("uno", "dos", "tres", "cuatro"), 0, "college_physics", "x"
    )
    assert question_text(question) == _render(template, **doc)
    english = resources.files("lm_eval.tasks") / "mmlu" / "default"
    assert yaml.safe_load((english / "_default_template_yaml").read_text())["doc_to_choice"] == [
        "A",
        "B",
        "C",
        "D",
    ]


@pytest.mark.parametrize("subject", ["college_biology", "high_school_physics"])
def test_mmlu_description_matches_the_harness(subject):
    from maec.evaluation.mmlu import subject_description

    task = resources.files("lm_eval.tasks") / "mmlu" / "default" / f"mmlu_{subject}.yaml"
    assert yaml.safe_load(task.read_text(encoding="utf-8"))["description"] == subject_description(
        subject
    )
