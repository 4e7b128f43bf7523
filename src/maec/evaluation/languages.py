"""The MGSM labels of every MGSM language.

`question` and `answer` open a question and its step-by-step answer in the native
chain-of-thought prompt; they are the labels the exemplars of
`../shared/data/mgsm/exemplars.json` begin with (checked by the tests).
`answer_phrase` is what precedes the final number in a chain-of-thought answer (strict
extraction); `other_answer_phrases` are further phrasings the exemplars use.
`direct_answer` opens the answer of the direct (no chain-of-thought) variant; it is
lm-evaluation-harness's `mgsm_direct` label (English "Answer:" where the harness has
no native one).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageLabels:
    question: str
    answer: str
    answer_phrase: str
    direct_answer: str
    other_answer_phrases: tuple[str, ...] = ()

    @property
    def answer_phrases(self) -> tuple[str, ...]:
        return (self.answer_phrase, *self.other_answer_phrases)


MGSM_LABELS: dict[str, LanguageLabels] = {
    "en": LanguageLabels("Question:", "Step-by-Step Answer:", "The answer is", "Answer:"),
    "es": LanguageLabels("Pregunta:", "Respuesta paso a paso:", "La respuesta es", "Respuesta:"),
    "fr": LanguageLabels("Question :", "Réponse étape par étape :", "La réponse est", "Réponse :"),
    # The first German exemplar ends "Die Antwort ist 11.", the other seven "Die Antwort lautet".
    "de": LanguageLabels(
        "Frage:",
        "Schritt-für-Schritt-Antwort:",
        "Die Antwort lautet",
        "Antwort:",
        ("Die Antwort ist",),
    ),
    "ru": LanguageLabels("Задача:", "Пошаговое решение:", "Ответ —", "Answer:"),
    "zh": LanguageLabels("问题：", "逐步解答：", "答案是", "Answer:"),
    "ja": LanguageLabels("問題：", "ステップごとの答え：", "答えは", "Answer:"),
    "th": LanguageLabels("โจทย์:", "คำตอบทีละขั้นตอน:", "คำตอบคือ", "Answer:"),
    "sw": LanguageLabels("Swali:", "Jibu la Hatua kwa Hatua:", "Jibu ni", "Answer:"),
    "bn": LanguageLabels("প্রশ্ন:", "ধাপে ধাপে উত্তর:", "উত্তর হল", "Answer:"),
    "te": LanguageLabels("ప్రశ్న:", "దశలవారీగా సమాధానం:", "సమాధానం", "Answer:"),
}


def labels_for(lang: str) -> LanguageLabels:
    """The labels of `lang`, or a clear error naming the languages that have labels."""
    try:
        return MGSM_LABELS[lang]
    except KeyError:
        raise ValueError(
            f"no MGSM labels for language {lang!r}; "
            f"known languages: {', '.join(sorted(MGSM_LABELS))}"
        ) from None


def question_line(labels: LanguageLabels, question: str) -> str:
    """`label question`, without a space after a full-width colon (as the zh and ja exemplars)."""
    separator = "" if labels.question.endswith("：") else " "
    return f"{labels.question}{separator}{question}"
