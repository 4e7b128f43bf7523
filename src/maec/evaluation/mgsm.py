"""MGSM: native chain-of-thought (or direct) few-shot prompts, greedy decoding, two extractions.

The prompt follows lm-evaluation-harness's `mgsm_native_cot_{lang}` task: the exemplars,
each `question\\nanswer`, separated by a blank line, then the test question with the
language's question label and the step-by-step answer label; generation stops at the
next question label. Scores are fractions in [0, 1].
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from maec.training.device import resolve_device

from .extraction import extract_direct, extract_flexible, extract_strict, format_number, is_correct
from .generation import generate_greedy, model_and_tokenizer
from .languages import LanguageLabels, labels_for, question_line
from .loaders import (
    BenchmarkFormatError,
    Exemplar,
    MgsmQuestion,
    load_mgsm_exemplars,
    load_mgsm_questions,
)
from .records import first_items, item_account, write_json, write_jsonl

log = logging.getLogger(__name__)


def exemplar_block(exemplar: Exemplar, labels: LanguageLabels, chain_of_thought: bool) -> str:
    """One shot: the step-by-step exemplar, or (direct variant) its question and final number."""
    if chain_of_thought:
        return f"{exemplar.question}\n{exemplar.answer}"
    final = extract_strict(exemplar.answer, labels)
    if final is None:
        raise BenchmarkFormatError(
            f"{exemplar.source}: {exemplar.question[:40]!r}: no final answer after "
            f"{labels.answer_phrase!r}"
        )
    return f"{exemplar.question}\n{labels.direct_answer} {format_number(final)}"


def mgsm_prompt(
    question: str,
    exemplars: Sequence[Exemplar],
    labels: LanguageLabels,
    *,
    chain_of_thought: bool = True,
) -> str:
    """Few-shot prompt ending with the answer label (no trailing space) of `question`."""
    answer_label = labels.answer if chain_of_thought else labels.direct_answer
    shots = [exemplar_block(e, labels, chain_of_thought) for e in exemplars]
    return "\n\n".join([*shots, f"{question_line(labels, question)}\n{answer_label}"])


@dataclass(frozen=True)
class MgsmTask:
    """One language's questions and prompts, read and checked before any model is loaded."""

    lang: str
    labels: LanguageLabels
    questions: list[MgsmQuestion]
    prompts: list[str]
    settings: dict  # what the score summary records of the files and prompts
    account: dict  # the items of the file, those scored and those left out (records.py)


def prepare_mgsm(
    questions_path,
    exemplars_path,
    lang: str,
    *,
    n_shots: int = 8,
    chain_of_thought: bool = True,
    limit: int | None = None,
) -> MgsmTask:
    """Read and check one language's questions and exemplars, and build its prompts."""
    labels = labels_for(lang)
    questions = load_mgsm_questions(questions_path)
    if n_shots < 0:
        raise ValueError(f"n_shots must not be negative, got {n_shots}")
    exemplars = load_mgsm_exemplars(exemplars_path, lang) if n_shots else []
    if n_shots > len(exemplars):
        raise ValueError(
            f"n_shots={n_shots}, but {exemplars_path} has {len(exemplars)} exemplars for {lang!r}"
        )
    scored = first_items(questions, limit)
    account = item_account(len(questions), {"limit": len(scored)})
    prompts = [
        mgsm_prompt(q.question, exemplars[:n_shots], labels, chain_of_thought=chain_of_thought)
        for q in scored
    ]
    settings = {
        "questions_path": str(questions_path),
        "exemplars_path": str(exemplars_path),
        "n_shots": n_shots,
        "chain_of_thought": chain_of_thought,
        "limit": limit,
    }
    return MgsmTask(lang, labels, scored, prompts, settings, account)


def score_mgsm(
    model_dir,
    task: MgsmTask,
    out_jsonl,
    out_json,
    *,
    max_new_tokens: int = 512,
    batch_size: int = 8,
    device=None,
) -> dict:
    """Generate the answers of a prepared language; write its records and score summary."""
    chain_of_thought = task.settings["chain_of_thought"]
    stop_strings = [task.labels.question]
    torch_device = resolve_device(device)
    log.info(
        "MGSM %s: %d questions, %d shots, model %s on %s",
        task.lang,
        len(task.questions),
        task.settings["n_shots"],
        model_dir,
        torch_device,
    )
    model, tokenizer = model_and_tokenizer(model_dir, torch_device)
    generations = generate_greedy(
        model,
        tokenizer,
        task.prompts,
        max_new_tokens=max_new_tokens,
        stop_strings=stop_strings,
        batch_size=batch_size,
        desc=f"mgsm {task.lang}",
    )

    records = []
    for question, prompt, generation in zip(task.questions, task.prompts, generations, strict=True):
        strict = (
            extract_strict(generation, task.labels)
            if chain_of_thought
            else extract_direct(generation)
        )
        flexible = extract_flexible(generation)
        records.append(
            {
                "source": question.source,
                "prompt": prompt,
                "generation": generation,
                "strict_answer": format_number(strict),
                "flexible_answer": format_number(flexible),
                "gold": format_number(question.gold),
                "strict_correct": is_correct(strict, question.gold),
                "flexible_correct": is_correct(flexible, question.gold),
            }
        )
    n = len(records)
    score = {
        "bench": "mgsm",
        "lang": task.lang,
        "n": n,
        **task.account,
        "strict_acc": sum(r["strict_correct"] for r in records) / n,
        "flexible_acc": sum(r["flexible_correct"] for r in records) / n,
        "strict_missing": sum(r["strict_answer"] is None for r in records),
        "flexible_missing": sum(r["flexible_answer"] is None for r in records),
        "model_dir": str(model_dir),
        "settings": {
            **task.settings,
            "max_new_tokens": max_new_tokens,
            "batch_size": batch_size,
            "device": str(torch_device),
            "dtype": str(next(model.parameters()).dtype),
            "stop_strings": stop_strings,
        },
    }
    write_jsonl(out_jsonl, records)
    write_json(out_json, score)
    log.info(
        "MGSM %s: strict %.4f, flexible %.4f", task.lang, score["strict_acc"], score["flexible_acc"]
    )
    return score


def evaluate_mgsm_languages(
    model_dir,
    languages: Sequence[str],
    questions_paths: Sequence,
    exemplars_path,
    out_jsonls: Sequence,
    out_jsons: Sequence,
    *,
    n_shots: int = 8,
    chain_of_thought: bool = True,
    max_new_tokens: int = 512,
    batch_size: int = 8,
    limit: int | None = None,
    device=None,
) -> list[dict]:
    """Score a model on MGSM in each of `languages` (one questions file and two outputs
    each). Every language's files are read and checked before the model is loaded: a bad
    file costs no generation, and the scores of the other languages are not thrown away."""
    tasks = [
        prepare_mgsm(
            questions,
            exemplars_path,
            lang,
            n_shots=n_shots,
            chain_of_thought=chain_of_thought,
            limit=limit,
        )
        for lang, questions in zip(languages, questions_paths, strict=True)
    ]
    return [
        score_mgsm(
            model_dir,
            task,
            out_jsonl,
            out_json,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            device=device,
        )
        for task, out_jsonl, out_json in zip(tasks, out_jsonls, out_jsons, strict=True)
    ]


def evaluate_mgsm(
    model_dir,
    questions_path,
    exemplars_path,
    lang: str,
    out_jsonl,
    out_json,
    **options,
) -> dict:
    """Score a model on MGSM in `lang`; write per-example records and the score summary.

    Returns {bench, lang, n, items, scored, not_scored, strict_acc, flexible_acc,
    strict_missing, flexible_missing, model_dir, settings}; accuracies are fractions, `items`
    counts the questions of the file, `scored` (= n) those scored and `not_scored` those a
    `limit` left out. For the direct variant, strict is the first line being exactly one
    number and flexible the last number. `options`: those of `evaluate_mgsm_languages`.
    """
    return evaluate_mgsm_languages(
        model_dir, [lang], [questions_path], exemplars_path, [out_jsonl], [out_json], **options
    )[0]
