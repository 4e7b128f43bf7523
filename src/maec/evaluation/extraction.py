"""Answer extraction for MGSM: strict (after the answer phrase) and flexible (last number).

Both work on the text with native digits mapped to ASCII. A number may carry a sign,
thousands separators (``2,125``; ``1.234.567``; no-break or thin spaces) and a decimal
point or comma (``3.5``, ``3,5``). A comma followed by exactly three digits is a
thousands separator, any other comma a decimal comma; a single dot is always a decimal
point. Answers are compared as numbers, so ``11``, ``11.``, ``11.0`` and ``11।`` agree.
"""

import re
from decimal import Decimal

from .languages import LanguageLabels

# Decimal digits of the scripts MGSM models answer in, mapped to ASCII.
_DIGIT_BLOCKS = {
    "Bengali": 0x09E6,
    "Telugu": 0x0C66,
    "Thai": 0x0E50,
    "Fullwidth": 0xFF10,
    "Devanagari": 0x0966,
    "Arabic-Indic": 0x0660,
    "Extended Arabic-Indic": 0x06F0,
}
_TO_ASCII = {zero + d: str(d) for zero in _DIGIT_BLOCKS.values() for d in range(10)}
_TO_ASCII.update({0x2212: "-", 0xFF0D: "-"})  # minus sign, full-width hyphen-minus

_THOUSANDS_SPACES = "\u00a0\u202f\u2009"
_NUMBER = (
    r"(?<![\d.,])-?(?:"
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)"  # 1,234,567.89
    r"|\d{1,3}(?:(?:\.\d{3}){2,}(?:,\d+)?|(?:\.\d{3})+,\d+)(?!\d)"  # 1.234.567 and 1.234,5
    rf"|\d{{1,3}}(?:[{_THOUSANDS_SPACES}]\d{{3}})+(?:[.,]\d+)?(?!\d)"  # 1 234 567
    r"|\d+(?:[.,]\d+)?"  # 1234, 12.5, 12,5
    r")"
)
_NUMBER_RE = re.compile(_NUMBER)
_CURRENCY = r"[$€£¥₹]?"
_ANSWER_END = "।。."


def to_ascii_digits(text: str) -> str:
    """`text` with Bengali, Telugu, Thai, full-width (and other) digits written in ASCII."""
    return text.translate(_TO_ASCII)


def number_value(token: str) -> Decimal:
    """The value of one number as `find_numbers` returns it (see the module docstring)."""
    token = re.sub(f"[{_THOUSANDS_SPACES}]", "", token)
    if "," in token and "." in token:
        thousands = "," if token.rfind(".") > token.rfind(",") else "."
    elif token.count(".") > 1:
        thousands = "."
    elif "," in token:
        thousands = "," if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", token) else None
    else:
        thousands = None
    if thousands:
        token = token.replace(thousands, "")
    return Decimal(token.replace(",", "."))


def find_numbers(text: str) -> list[str]:
    """Every number in `text` (after mapping native digits), in order."""
    return _NUMBER_RE.findall(to_ascii_digits(text))


def extract_flexible(text: str) -> Decimal | None:
    """The last number of `text`, or None when it has none."""
    numbers = find_numbers(text)
    return number_value(numbers[-1]) if numbers else None


def strict_pattern(phrases: tuple[str, ...]) -> re.Pattern:
    """Answer phrase, optional colon and currency sign, then the number (first capture)."""
    alternatives = "|".join(re.escape(p) for p in phrases)
    return re.compile(rf"(?:{alternatives})\s*[:：]?\s*{_CURRENCY}\s*({_NUMBER})")


def extract_strict(text: str, labels: LanguageLabels) -> Decimal | None:
    """The number after the first answer phrase of `text`, or None without one."""
    match = strict_pattern(labels.answer_phrases).search(to_ascii_digits(text))
    return number_value(match.group(1)) if match else None


def extract_direct(text: str) -> Decimal | None:
    """The answer of a direct (no chain-of-thought) generation: its first line must be one
    number (optionally with a currency sign and a final full stop), else None."""
    line = to_ascii_digits(text).strip().split("\n", 1)[0].strip().rstrip(_ANSWER_END).strip()
    match = re.fullmatch(rf"{_CURRENCY}\s*({_NUMBER})", line)
    return number_value(match.group(1)) if match else None


def parse_gold(text: str) -> Decimal:
    """A gold answer such as ``2,125`` or ``-3.5``; ValueError if it is not exactly one number."""
    stripped = to_ascii_digits(text).strip()
    if not re.fullmatch(_NUMBER, stripped):
        raise ValueError(f"gold answer {text!r} is not a number")
    return number_value(stripped)


def is_correct(predicted: Decimal | None, gold: Decimal) -> bool:
    """Numeric equality; no prediction is wrong."""
    return predicted is not None and predicted == gold


def format_number(value: Decimal | None) -> str | None:
    """A JSON-friendly form of an extracted answer: integral values without decimals."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")
