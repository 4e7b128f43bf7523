"""Multilingual MMLU (Okapi) and English MMLU, scored by the log-likelihood of the options.

Prompt (lm-evaluation-harness's `mmlu` / `m_mmlu` template): `question\\nA. ..\\nB. ..\\n
C. ..\\nD. ..\\nAnswer:`, preceded by the first `n_shots` dev questions of the same subject,
each followed by ` {letter}` and a blank line; English prompts begin with the harness's
description "The following are multiple choice questions (with answers) about {subject}.".

Metrics, as the harness defines them (fractions in [0, 1]):
- `acc`: the letter continuation (" A".." D") with the highest log-likelihood is the gold one;
- `acc_norm`: over the option texts (" {option}"), log-likelihood divided by the option's
  length in characters;
- `acc_bytes`: the same, divided by the option's length in UTF-8 bytes.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from maec.training.device import resolve_device

from .generation import loglikelihoods, model_and_tokenizer
from .loaders import (
    CHOICE_LETTERS,
    SCIENCE_SUBJECTS,
    MultipleChoiceQuestion,
    load_multiple_choice,
    read_multiple_choice,
)
from .records import first_items, item_account, write_json, write_jsonl

log = logging.getLogger(__name__)


def question_text(question: MultipleChoiceQuestion) -> str:
    options = "".join(
        f"\n{letter}. {text}" for letter, text in zip(CHOICE_LETTERS, question.options)
    )
    return f"{question.question}{options}\nAnswer:"


def subject_description(subject: str) -> str:
    topic = subject.replace("_", " ")
    return f"The following are multiple choice questions (with answers) about {topic}.\n\n"


def mmlu_prompt(
    question: MultipleChoiceQuestion,
    shots: Sequence[MultipleChoiceQuestion],
    *,
    description: str = "",
) -> str:
    solved = "".join(f"{question_text(s)} {CHOICE_LETTERS[s.answer]}\n\n" for s in shots)
    return f"{description}{solved}{question_text(question)}"


def argmax(values: Sequence[float]) -> int:
    """Index of the largest value; the first one on ties (as numpy.argmax)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def choose(
    letter_scores: Sequence[float], option_scores: Sequence[float], options: Sequence[str]
) -> dict:
    """The predictions of acc, acc_norm and acc_bytes from the log-likelihoods of one question."""
    return {
        "acc": argmax(letter_scores),
        "acc_norm": argmax([s / len(o) for s, o in zip(option_scores, options)]),
        "acc_bytes": argmax([s / len(o.encode("utf-8")) for s, o in zip(option_scores, options)]),
    }


def few_shot_pools(
    dev: Sequence[MultipleChoiceQuestion], subjects: Sequence[str], n_shots: int, dev_source
) -> dict[str, list[MultipleChoiceQuestion]]:
    """The first `n_shots` dev questions of each subject; an error when a subject has none."""
    pools = defaultdict(list)
    for question in dev:
        if len(pools[question.subject]) < n_shots:
            pools[question.subject].append(question)
    if n_shots:
        missing = [s for s in subjects if not pools[s]]
        if missing:
            raise ValueError(
                f"{dev_source}: no dev questions for the subjects {', '.join(missing)}"
            )
        for subject in subjects:
            if len(pools[subject]) < n_shots:
                log.warning(
                    "%s: only %d dev questions for %s; using them all",
                    dev_source,
                    len(pools[subject]),
                    subject,
                )
    return pools


@dataclass(frozen=True)
class MmluTask:
    """One language's questions, prompts and scoring requests, read and checked before any
    model is loaded."""

    lang: str
    questions: list[MultipleChoiceQuestion]
    prompts: list[str]
    requests: list[tuple[str, str]]
    settings: dict  # what the score summary records of the files and prompts
    account: dict  # the items of the test files, those scored and those left out (records.py)


def prepare_mmlu(
    test_path,
    dev_path,
    lang: str,
    *,
    n_shots: int = 5,
    subjects: Sequence[str] = SCIENCE_SUBJECTS,
    limit: int | None = None,
) -> MmluTask:
    """Read and check one language's test and dev questions, and build its prompts."""
    if n_shots < 0:
        raise ValueError(f"n_shots must not be negative, got {n_shots}")
    subjects = tuple(subjects)
    test = read_multiple_choice(test_path, "test", subjects)
    if not test.questions:
        raise ValueError(f"{test_path}: no questions of the subjects {', '.join(subjects)}")
    questions = first_items(test.questions, limit)
    account = item_account(
        test.items, {"other_subjects": len(test.questions), "limit": len(questions)}
    )
    present = sorted({q.subject for q in questions})
    pools = few_shot_pools(
        load_multiple_choice(dev_path, "dev", subjects) if n_shots else [],
        present,
        n_shots,
        dev_path,
    )
    prompts = [
        mmlu_prompt(
            q, pools[q.subject], description=subject_description(q.subject) if lang == "en" else ""
        )
        for q in questions
    ]
    requests = []
    for prompt, question in zip(prompts, questions):
        requests += [(prompt, f" {letter}") for letter in CHOICE_LETTERS]
        requests += [(prompt, f" {option}") for option in question.options]
    settings = {
        "test_path": _describe(test_path),
        "dev_path": _describe(dev_path),
        "n_shots": n_shots,
        "shots_per_subject": {s: len(pools[s]) for s in present},
        "subjects": list(subjects),
        "limit": limit,
    }
    return MmluTask(lang, questions, prompts, requests, settings, account)


def score_mmlu(
    model_dir, task: MmluTask, out_jsonl, out_json, *, batch_size: int = 8, device=None
) -> dict:
    """Score a prepared language by log-likelihood; write its records and score summary."""
    torch_device = resolve_device(device)
    log.info(
        "MMLU %s: %d questions, %d shots, model %s on %s",
        task.lang,
        len(task.questions),
        task.settings["n_shots"],
        model_dir,
        torch_device,
    )
    model, tokenizer = model_and_tokenizer(model_dir, torch_device)
    scores = loglikelihoods(
        model, tokenizer, task.requests, batch_size=batch_size, desc=f"mmlu {task.lang}"
    )

    records = []
    width = 2 * len(CHOICE_LETTERS)
    for index, (prompt, question) in enumerate(zip(task.prompts, task.questions)):
        block = scores[index * width : (index + 1) * width]
        letters, options = block[: len(CHOICE_LETTERS)], block[len(CHOICE_LETTERS) :]
        predicted = choose(letters, options, question.options)
        records.append(
            {
                "source": question.source,
                "subject": question.subject,
                "prompt": prompt,
                "gold": CHOICE_LETTERS[question.answer],
                "letter_loglikelihoods": letters,
                "option_loglikelihoods": options,
                **{
                    f"{metric}_answer": CHOICE_LETTERS[choice]
                    for metric, choice in predicted.items()
                },
                **{
                    f"{metric}_correct": choice == question.answer
                    for metric, choice in predicted.items()
                },
            }
        )
    metrics = ("acc", "acc_norm", "acc_bytes")
    by_subject = {}
    for subject in sorted({q.subject for q in task.questions}):
        rows = [r for r in records if r["subject"] == subject]
        by_subject[subject] = {
            "n": len(rows),
            **{m: sum(r[f"{m}_correct"] for r in rows) / len(rows) for m in metrics},
        }
    score = {
        "bench": "mmlu",
        "lang": task.lang,
        "n": len(records),
        **task.account,
        **{m: sum(r[f"{m}_correct"] for r in records) / len(records) for m in metrics},
        "subjects": by_subject,
        "model_dir": str(model_dir),
        "settings": {
            **task.settings,
            "batch_size": batch_size,
            "device": str(torch_device),
            "dtype": str(next(model.parameters()).dtype),
            "gold_letters": dict(Counter(r["gold"] for r in records)),
        },
    }
    write_jsonl(out_jsonl, records)
    write_json(out_json, score)
    log.info("MMLU %s: acc %.4f, acc_norm %.4f", task.lang, score["acc"], score["acc_norm"])
    return score


def evaluate_mmlu_languages(
    model_dir,
    languages: Sequence[str],
    test_paths: Sequence,
    dev_paths: Sequence,
    out_jsonls: Sequence,
    out_jsons: Sequence,
    *,
    n_shots: int = 5,
    subjects: Sequence[str] = SCIENCE_SUBJECTS,
    batch_size: int = 8,
    limit: int | None = None,
    device=None,
) -> list[dict]:
    """Score a model on (multilingual) MMLU in each of `languages` (a test and a dev source
    and two outputs each). Every language's files are read and checked before the model is
    loaded: a bad file costs no scoring, and the scores of the other languages are not
    thrown away."""
    tasks = [
        prepare_mmlu(test, dev, lang, n_shots=n_shots, subjects=subjects, limit=limit)
        for lang, test, dev in zip(languages, test_paths, dev_paths, strict=True)
    ]
    return [
        score_mmlu(model_dir, task, out_jsonl, out_json, batch_size=batch_size, device=device)
        for task, out_jsonl, out_json in zip(tasks, out_jsonls, out_jsons, strict=True)
    ]


def evaluate_mmlu(
    model_dir, test_path, dev_path, lang: str, out_jsonl, out_json, **options
) -> dict:
    """Score a model on (multilingual) MMLU; write per-example records and the score summary.

    `test_path` / `dev_path`: an Okapi JSON file, an English MMLU CSV file, a list of such
    files, or a directory holding `{subject}_test.csv` / `{subject}_dev.csv` per subject.
    Returns {bench, lang, n, items, scored, not_scored, acc, acc_norm, acc_bytes, subjects:
    {subject: {n, acc, acc_norm, acc_bytes}}, model_dir, settings}; accuracies are
    fractions, `items` counts the test items of every subject in the files, `scored` (= n)
    those scored and `not_scored` those of other subjects and those a `limit` left out.
    `options`: those of `evaluate_mmlu_languages`.
    """
    return evaluate_mmlu_languages(
        model_dir, [lang], [test_path], [dev_path], [out_jsonl], [out_json], **options
    )[0]


def _describe(path) -> str | list[str]:
    return [str(p) for p in path] if isinstance(path, (list, tuple)) else str(path)
