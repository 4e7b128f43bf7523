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

from maec.device import resolve_device

from .generation import load_model, loglikelihoods
from .loaders import CHOICE_LETTERS, SCIENCE_SUBJECTS, MultipleChoiceQuestion, load_multiple_choice
from .records import write_json, write_jsonl

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


def evaluate_mmlu(
    model_dir,
    test_path,
    dev_path,
    lang: str,
    out_jsonl,
    out_json,
    *,
    n_shots: int = 5,
    subjects: Sequence[str] = SCIENCE_SUBJECTS,
    batch_size: int = 8,
    limit: int | None = None,
    device=None,
) -> dict:
    """Score a model on (multilingual) MMLU; write per-example records and the score summary.

    `test_path` / `dev_path`: an Okapi JSON file, an English MMLU CSV file, a list of such
    files, or a directory holding `{subject}_test.csv` / `{subject}_dev.csv` per subject.
    Returns {bench, lang, n, acc, acc_norm, acc_bytes, subjects: {subject: {n, acc,
    acc_norm, acc_bytes}}, model_dir, settings}; accuracies are fractions.
    """
    if n_shots < 0:
        raise ValueError(f"n_shots must not be negative, got {n_shots}")
    subjects = tuple(subjects)
    questions = load_multiple_choice(test_path, "test", subjects)
    if not questions:
        raise ValueError(f"{test_path}: no questions of the subjects {', '.join(subjects)}")
    if limit is not None:
        questions = questions[:limit]
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

    torch_device = resolve_device(device)
    log.info(
        "MMLU %s: %d questions, %d shots, model %s on %s",
        lang,
        len(questions),
        n_shots,
        model_dir,
        torch_device,
    )
    model, tokenizer = load_model(model_dir, torch_device)
    scores = loglikelihoods(model, tokenizer, requests, batch_size=batch_size, desc=f"mmlu {lang}")

    records = []
    width = 2 * len(CHOICE_LETTERS)
    for index, (prompt, question) in enumerate(zip(prompts, questions)):
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
    for subject in present:
        rows = [r for r in records if r["subject"] == subject]
        by_subject[subject] = {
            "n": len(rows),
            **{m: sum(r[f"{m}_correct"] for r in rows) / len(rows) for m in metrics},
        }
    score = {
        "bench": "mmlu",
        "lang": lang,
        "n": len(records),
        **{m: sum(r[f"{m}_correct"] for r in records) / len(records) for m in metrics},
        "subjects": by_subject,
        "model_dir": str(model_dir),
        "settings": {
            "test_path": _describe(test_path),
            "dev_path": _describe(dev_path),
            "n_shots": n_shots,
            "shots_per_subject": {s: len(pools[s]) for s in present},
            "subjects": list(subjects),
            "batch_size": batch_size,
            "limit": limit,
            "device": str(torch_device),
            "dtype": str(next(model.parameters()).dtype),
            "gold_letters": dict(Counter(r["gold"] for r in records)),
        },
    }
    write_jsonl(out_jsonl, records)
    write_json(out_json, score)
    log.info("MMLU %s: acc %.4f, acc_norm %.4f", lang, score["acc"], score["acc_norm"])
    return score


def _describe(path) -> str | list[str]:
    return [str(p) for p in path] if isinstance(path, (list, tuple)) else str(path)
