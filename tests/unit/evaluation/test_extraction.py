"""MGSM answer extraction: the exemplars of every language, tricky outputs, gold answers."""

import json
from decimal import Decimal

import pytest
from helpers import SHARED_DATA

from maec.evaluation.extraction import (
    extract_direct,
    extract_flexible,
    extract_strict,
    find_numbers,
    format_number,
    is_correct,
    number_value,
    parse_gold,
    to_ascii_digits,
)
from maec.evaluation.languages import MGSM_LABELS, labels_for, question_line

DATA = SHARED_DATA
EXEMPLARS = DATA / "mgsm" / "exemplars.json"
needs_exemplars = pytest.mark.skipif(not EXEMPLARS.is_file(), reason="shared MGSM exemplars absent")


@pytest.fixture(scope="module")
def exemplars():
    return json.loads(EXEMPLARS.read_text(encoding="utf-8"))


@needs_exemplars
def test_exemplar_file_covers_every_labelled_language(exemplars):
    assert set(exemplars) == set(MGSM_LABELS)


@needs_exemplars
@pytest.mark.parametrize("lang", sorted(MGSM_LABELS))
def test_exemplars_begin_with_the_labels(exemplars, lang):
    labels = MGSM_LABELS[lang]
    for item in exemplars[lang]:
        assert item["q"].startswith(labels.question)
        assert item["a"].startswith(labels.answer)


@needs_exemplars
@pytest.mark.parametrize("lang", sorted(MGSM_LABELS))
def test_every_exemplar_gives_the_english_numbers(exemplars, lang):
    english = [extract_strict(e["a"], MGSM_LABELS["en"]) for e in exemplars["en"]]
    assert english == [11, 29, 39, 9, 33, 8, 8, 5]
    answers = [e["a"] for e in exemplars[lang]]
    assert [extract_strict(a, MGSM_LABELS[lang]) for a in answers] == english
    assert [extract_flexible(a) for a in answers] == english


@needs_exemplars
def test_exemplar_quirks_are_present(exemplars):
    """The quirks the labels table handles: if the data changes, revisit the table."""
    assert "Die Antwort ist 11." in exemplars["de"][0]["a"]
    assert exemplars["te"][2]["a"].endswith("సమాధానం 39.చాక్లెట్\u200cలుచాక్లెట్\u200cలుచాక్లెట్\u200cలు")
    assert exemplars["ja"][2]["a"].endswith("答えは39個。")
    assert exemplars["th"][0]["a"].endswith("คำตอบคือ 11")


def test_question_line_follows_the_exemplars_spacing():
    assert question_line(MGSM_LABELS["en"], "How many?") == "Question: How many?"
    assert question_line(MGSM_LABELS["zh"], "多少？") == "问题：多少？"
    assert question_line(MGSM_LABELS["ja"], "何個？") == "問題：何個？"


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="no MGSM labels for language 'xx'"):
        labels_for("xx")


TRICKY = [
    # (language, model output, strict, flexible)
    ("en", "5 + 6 = 11. The answer is 11.", "11", "11"),
    ("en", "The answer is 2,125.", "2125", "2125"),
    ("en", "1,000 + 1,125 = 2,125. The answer is $2,125.00", "2125", "2125"),
    ("en", "The answer is 11.0", "11", "11"),
    ("en", "The answer is -5.", "-5", "-5"),
    ("en", "20-12=8. The answer is 8", "8", "8"),
    ("en", "The answer is 18 dollars. Then 3 cans more.", "18", "3"),
    ("en", "I cannot solve this.", None, None),
    ("en", "", None, None),
    ("en", "The answer is unknown.", None, None),
    ("es", "1,5 * 2 = 3. La respuesta es 3,5.", "3.5", "3.5"),
    ("es", "La respuesta es 1.234.567,5 euros.", "1234567.5", "1234567.5"),
    ("es", "La respuesta es 1.000", "1", "1"),  # a single dot is a decimal point
    ("fr", "La réponse est 2\u00a0125.", "2125", "2125"),
    ("fr", "La réponse est 2\u202f125 €.", "2125", "2125"),
    ("de", "Die Antwort ist 7.", "7", "7"),
    ("bn", "৫ + ৬ = ১১। উত্তর হল ১১।", "11", "11"),
    ("bn", "উত্তর হল 2,125।", "2125", "2125"),
    ("te", "౫+౬=౧౧. సమాధానం ౧౧.", "11", "11"),
    ("th", "5 + 6 = 11 คำตอบคือ ๑๑", "11", "11"),
    ("zh", "５ + ６ = １１。答案是 １１。", "11", "11"),
    ("zh", "答案是：12。", "12", "12"),
    ("ja", "答えは１２個です。", "12", "12"),
    ("ru", "Ответ — 1,5.", "1.5", "1.5"),
    ("sw", "Jibu ni 40. Sasa swali lingine", "40", "40"),
]


@pytest.mark.parametrize("lang, output, strict, flexible", TRICKY)
def test_tricky_outputs(lang, output, strict, flexible):
    assert format_number(extract_strict(output, MGSM_LABELS[lang])) == strict
    assert format_number(extract_flexible(output)) == flexible


def test_native_digits_map_to_ascii():
    assert to_ascii_digits("০১২৩৪৫৬৭৮৯ ౦౧౨౩౪౫౬౭౮౯ ๐๑๒๓๔๕๖๗๘๙ ０１２３４５６７８９") == " ".join(
        ["0123456789"] * 4
    )


@pytest.mark.parametrize(
    "token, value",
    [
        ("2,125", "2125"),
        ("114,200", "114200"),
        ("3,5", "3.5"),
        ("1,2345", "1.2345"),
        ("1,234.5", "1234.5"),
        ("1.234,5", "1234.5"),
        ("1.234.567", "1234567"),
        ("12\u00a0345,5", "12345.5"),
        ("-7", "-7"),
        ("0.25", "0.25"),
    ],
)
def test_number_values(token, value):
    assert find_numbers(token) == [token]
    assert number_value(token) == Decimal(value)


def test_numbers_are_compared_as_numbers():
    assert is_correct(Decimal("11.0"), parse_gold("11"))
    assert is_correct(Decimal("2125"), parse_gold("2,125"))
    assert not is_correct(None, parse_gold("0"))
    assert not is_correct(Decimal("-5"), parse_gold("5"))


@pytest.mark.parametrize("bad", ["", "eleven", "11 apples", "1 2"])
def test_gold_must_be_one_number(bad):
    with pytest.raises(ValueError, match="is not a number"):
        parse_gold(bad)


@pytest.mark.parametrize(
    "output, expected",
    [
        (" 11", "11"),
        (" $2,125.\nQuestion", "2125"),
        ("১১।", "11"),
        (" 11 apples", None),
        (" The answer is 11", None),
        ("", None),
    ],
)
def test_direct_answers(output, expected):
    assert format_number(extract_direct(output)) == expected
