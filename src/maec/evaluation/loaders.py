"""Loaders for the benchmark files: MGSM TSV and exemplars, Okapi JSON and MMLU CSV.

Every loader checks the whole file before returning, and a malformed row raises a
`BenchmarkFormatError` naming the file and the row, so nothing is scored silently as wrong
and no item is dropped unnoticed. A blank line (nothing but white space, and in a TSV or
CSV file no field separator either) holds no item and is skipped, the rule of every
line-based reader in the package (`maec.data.jsonl.is_blank`); a line with a separator
is a row and is checked like any other.
"""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from maec.data.jsonl import is_blank

from .extraction import parse_gold
from .languages import labels_for

CHOICE_LETTERS = ("A", "B", "C", "D")
# The paper's science subjects: the set that gives its Table 6 counts (1,245 English test
# questions = the six biology, chemistry and physics subjects' 1,010 + conceptual physics' 235).
SCIENCE_SUBJECTS = (
    "college_biology",
    "college_chemistry",
    "college_physics",
    "conceptual_physics",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_physics",
)


class BenchmarkFormatError(ValueError):
    """A benchmark file that does not have the expected format."""


@dataclass(frozen=True)
class MgsmQuestion:
    question: str
    answer: str  # the gold answer as written in the file
    gold: Decimal
    source: str  # "file:line"


@dataclass(frozen=True)
class Exemplar:
    question: str  # begins with the language's question label
    answer: str  # begins with the language's step-by-step answer label
    source: str = "exemplar"  # "file: lang[index]" when read from a file


@dataclass(frozen=True)
class MultipleChoiceQuestion:
    question: str
    options: tuple[str, str, str, str]
    answer: int  # index into CHOICE_LETTERS
    subject: str
    source: str  # "file:row" or "file:item (id)"


@dataclass(frozen=True)
class MultipleChoiceFiles:
    """What a multiple-choice source holds: how many items its files have, of every subject,
    and those of the requested subjects, the ones that can be scored."""

    items: int
    questions: list[MultipleChoiceQuestion]


def read_text(path: Path) -> str:
    """A benchmark file's text; one that is not UTF-8 is an error naming the file and line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BenchmarkFormatError(
            f"{path}:{line}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None


def load_mgsm_questions(path: str | Path) -> list[MgsmQuestion]:
    """An MGSM TSV file: `question<TAB>answer` per line, no header."""
    path = Path(path)
    questions = []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if "\t" not in line and is_blank(line):
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) != 2:
            raise BenchmarkFormatError(
                f"{where}: expected 'question<TAB>answer' (2 fields), found {len(fields)}"
            )
        question, answer = fields
        try:
            gold = parse_gold(answer)
        except ValueError as error:
            raise BenchmarkFormatError(f"{where}: {error}") from None
        if not question.strip():
            raise BenchmarkFormatError(f"{where}: empty question")
        questions.append(MgsmQuestion(question.strip(), answer.strip(), gold, where))
    if not questions:
        raise BenchmarkFormatError(f"{path}: no questions")
    return questions


def load_mgsm_exemplars(path: str | Path, lang: str) -> list[Exemplar]:
    """The chain-of-thought exemplars of `lang` from a JSON file `{lang: [{q, a}]}`.

    Each `q` must begin with the language's question label and each `a` with its
    step-by-step answer label, since the prompt continues in that format.
    """
    path = Path(path)
    labels = labels_for(lang)
    try:
        table = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise BenchmarkFormatError(f"{path}: not JSON ({error})") from None
    if not isinstance(table, dict):
        raise BenchmarkFormatError(f"{path}: expected an object {{lang: [{{q, a}}]}}")
    if not table.get(lang):
        raise BenchmarkFormatError(
            f"{path}: no exemplars for language {lang!r}; it has {', '.join(sorted(table))}"
        )
    exemplars = []
    for index, item in enumerate(table[lang]):
        where = f"{path}: {lang}[{index}]"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("q"), str)
            or not isinstance(item.get("a"), str)
        ):
            raise BenchmarkFormatError(
                f"{where}: expected an object with string fields 'q' and 'a'"
            )
        if not item["q"].startswith(labels.question):
            raise BenchmarkFormatError(
                f"{where}: 'q' does not begin with the question label {labels.question!r}"
            )
        if not item["a"].startswith(labels.answer):
            raise BenchmarkFormatError(
                f"{where}: 'a' does not begin with the answer label {labels.answer!r}"
            )
        exemplars.append(Exemplar(item["q"].strip(), item["a"].strip(), where))
    return exemplars


def load_multiple_choice(
    source: str | Path | Sequence[str | Path],
    split: str,
    subjects: Iterable[str] = SCIENCE_SUBJECTS,
) -> list[MultipleChoiceQuestion]:
    """MMLU questions of `subjects`, in file order (`read_multiple_choice`'s questions)."""
    return read_multiple_choice(source, split, subjects).questions


def read_multiple_choice(
    source: str | Path | Sequence[str | Path],
    split: str,
    subjects: Iterable[str] = SCIENCE_SUBJECTS,
) -> MultipleChoiceFiles:
    """Every item of an MMLU source, checked, and its questions of `subjects` in file order.

    `source` is an Okapi JSON file, an English MMLU CSV file `{subject}_{dev,val,test}.csv`
    (the subject comes from the name), a list of such files, or a directory of English
    MMLU CSV files, of which the files `{subject}_{split}.csv` of the requested subjects
    are read (each must exist). `split` is used only for a directory. The items of other
    subjects are counted, so that a score can say how many it left out.
    """
    subjects = tuple(subjects)
    items = []
    for file in _benchmark_files(source, split, subjects):
        if file.suffix == ".json":
            items += _read_okapi(file)
        elif file.suffix == ".csv":
            items += _read_mmlu_csv(file)
        else:
            raise BenchmarkFormatError(f"{file}: expected an Okapi .json or an MMLU .csv file")
    return MultipleChoiceFiles(len(items), [q for q in items if q.subject in subjects])


def _benchmark_files(source, split: str, subjects: tuple[str, ...]) -> list[Path]:
    if isinstance(source, (str, Path)):
        source = Path(source)
        if source.is_dir():
            files = [source / f"{subject}_{split}.csv" for subject in subjects]
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise BenchmarkFormatError(f"{source}: missing MMLU files {', '.join(missing)}")
            return files
        source = [source]
    files = [Path(f) for f in source]
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"benchmark file {file} does not exist")
    return files


def _answer_index(answer, where: str) -> int:
    if answer not in CHOICE_LETTERS:
        raise BenchmarkFormatError(f"{where}: answer key {answer!r} is not one of A, B, C, D")
    return CHOICE_LETTERS.index(answer)


def _options(values, where: str) -> tuple[str, str, str, str]:
    for letter, value in zip(CHOICE_LETTERS, values):
        if not isinstance(value, str) or not value.strip():
            raise BenchmarkFormatError(f"{where}: option {letter} is empty or not text")
    return tuple(v.strip() for v in values)


OKAPI_KEYS = ("instruction", "option_a", "option_b", "option_c", "option_d", "answer", "id")


def _read_okapi(path: Path) -> list[MultipleChoiceQuestion]:
    try:
        items = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise BenchmarkFormatError(f"{path}: not JSON ({error})") from None
    if not isinstance(items, list):
        raise BenchmarkFormatError(f"{path}: expected a list of Okapi items")
    first_index = {}  # id -> the index of the item that has it
    questions = []
    for index, item in enumerate(items):
        _check_okapi_keys(item, f"{path}: item {index}")
        where = f"{path}: item {index} (id {item['id']!r})"
        questions.append(_okapi_question(item, where))
        if item["id"] in first_index:
            raise BenchmarkFormatError(
                f"{where}: the id of item {first_index[item['id']]} again (each item once)"
            )
        first_index[item["id"]] = index
    if not questions:
        raise BenchmarkFormatError(f"{path}: no questions")
    return questions


def _check_okapi_keys(item, where: str) -> None:
    if not isinstance(item, dict):
        raise BenchmarkFormatError(
            f"{where}: expected an object with the keys {', '.join(OKAPI_KEYS)}"
        )
    missing = [k for k in OKAPI_KEYS if k not in item]
    if missing:
        raise BenchmarkFormatError(
            f"{where}: no {', '.join(repr(k) for k in missing)} "
            f"(an Okapi item has the keys {', '.join(OKAPI_KEYS)})"
        )


def _okapi_question(item: dict, where: str) -> MultipleChoiceQuestion:
    parts = item["id"].split("/") if isinstance(item["id"], str) else []
    if len(parts) != 3 or not parts[0]:
        raise BenchmarkFormatError(f"{where}: id is not 'subject/split/idx'")
    if not isinstance(item["instruction"], str) or not item["instruction"].strip():
        raise BenchmarkFormatError(f"{where}: empty instruction")
    return MultipleChoiceQuestion(
        item["instruction"].strip(),
        _options([item[k] for k in OKAPI_KEYS[1:5]], where),
        _answer_index(item["answer"], where),
        parts[0],
        where,
    )


MMLU_SPLITS = ("dev", "val", "test")


def _read_mmlu_csv(path: Path) -> list[MultipleChoiceQuestion]:
    subject, _, split = path.stem.rpartition("_")
    if not subject or split not in MMLU_SPLITS:
        raise BenchmarkFormatError(
            f"{path}: an MMLU CSV file must be named {{subject}}_{{dev,val,test}}.csv"
        )
    questions = []
    for number, row in enumerate(csv.reader(io.StringIO(read_text(path), newline="")), start=1):
        if len(row) <= 1 and is_blank("".join(row)):
            continue
        where = f"{path}: row {number}"
        if len(row) != 6:
            raise BenchmarkFormatError(
                f"{where}: expected 6 columns (question, A, B, C, D, answer), found {len(row)}"
            )
        if not row[0].strip():
            raise BenchmarkFormatError(f"{where}: empty question")
        questions.append(
            MultipleChoiceQuestion(
                row[0].strip(),
                _options(row[1:5], where),
                _answer_index(row[5].strip(), where),
                subject,
                where,
            )
        )
    if not questions:
        raise BenchmarkFormatError(f"{path}: no questions")
    return questions
