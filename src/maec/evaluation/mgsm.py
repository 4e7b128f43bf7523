"""MGSM: native chain-of-thought (or direct) few-shot prompts, greedy decoding, two extractions.

The prompt follows lm-evaluation-harness's `mgsm_native_cot_{lang}` task: the exemplars,
each `question\\nanswer`, separated by a blank line, then the test question with the
language's question label and the step-by-step answer label; generation stops at the
next question label. Scores are fractions in [0, 1].
"""

import logging
from collections.abc import Sequence

from maec.device import resolve_device

from .extraction import extract_direct, extract_flexible, extract_strict, format_number, is_correct
from .generation import generate_greedy, load_model
from .languages import LanguageLabels, labels_for, question_line
from .loaders import BenchmarkFormatError, Exemplar, load_mgsm_exemplars, load_mgsm_questions
from .records import write_json, write_jsonl

log = logging.getLogger(__name__)


def exemplar_block(exemplar: Exemplar, labels: LanguageLabels, chain_of_thought: bool) -> str:
    """One shot: the step-by-step exemplar, or (direct variant) its question and final number."""
    if chain_of_thought:
        return f"{exemplar.question}\n{exemplar.answer}"
    final = extract_strict(exemplar.answer, labels)
    if final is None:
        raise BenchmarkFormatError(
            f"exemplar {exemplar.question[:40]!r}: no final answer after {labels.answer_phrase!r}"
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


def evaluate_mgsm(
    model_dir,
    questions_path,
    exemplars_path,
    lang: str,
    out_jsonl,
    out_json,
    *,
    n_shots: int = 8,
    chain_of_thought: bool = True,
    max_new_tokens: int = 512,
    batch_size: int = 8,
    limit: int | None = None,
    device=None,
) -> dict:
    """Score a model on MGSM in `lang`; write per-example records and the score summary.

    Returns {bench, lang, n, strict_acc, flexible_acc, strict_missing, flexible_missing,
    model_dir, settings}; accuracies are fractions. For the direct variant, strict is the
    first line being exactly one number and flexible the last number.
    """
    labels = labels_for(lang)
    questions = load_mgsm_questions(questions_path)
    if n_shots < 0:
        raise ValueError(f"n_shots must not be negative, got {n_shots}")
    exemplars = load_mgsm_exemplars(exemplars_path, lang) if n_shots else []
    if n_shots > len(exemplars):
        raise ValueError(
            f"n_shots={n_shots}, but {exemplars_path} has {len(exemplars)} exemplars for {lang!r}"
        )
    if limit is not None:
        questions = questions[:limit]
    prompts = [
        mgsm_prompt(q.question, exemplars[:n_shots], labels, chain_of_thought=chain_of_thought)
        for q in questions
    ]
    stop_strings = [labels.question]

    torch_device = resolve_device(device)
    log.info(
        "MGSM %s: %d questions, %d shots, model %s on %s",
        lang,
        len(questions),
        n_shots,
        model_dir,
        torch_device,
    )
    model, tokenizer = load_model(model_dir, torch_device)
    generations = generate_greedy(
        model,
        tokenizer,
        prompts,
        max_new_tokens=max_new_tokens,
        stop_strings=stop_strings,
        batch_size=batch_size,
        desc=f"mgsm {lang}",
    )

    records = []
    for question, prompt, generation in zip(questions, prompts, generations):
        strict = (
            extract_strict(generation, labels) if chain_of_thought else extract_direct(generation)
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
        "lang": lang,
        "n": n,
        "strict_acc": sum(r["strict_correct"] for r in records) / n,
        "flexible_acc": sum(r["flexible_correct"] for r in records) / n,
        "strict_missing": sum(r["strict_answer"] is None for r in records),
        "flexible_missing": sum(r["flexible_answer"] is None for r in records),
        "model_dir": str(model_dir),
        "settings": {
            "questions_path": str(questions_path),
            "exemplars_path": str(exemplars_path),
            "n_shots": n_shots,
            "chain_of_thought": chain_of_thought,
            "max_new_tokens": max_new_tokens,
            "batch_size": batch_size,
            "limit": limit,
            "device": str(torch_device),
            "dtype": str(next(model.parameters()).dtype),
            "stop_strings": stop_strings,
        },
    }
    write_jsonl(out_jsonl, records)
    write_json(out_json, score)
    log.info(
        "MGSM %s: strict %.4f, flexible %.4f", lang, score["strict_acc"], score["flexible_acc"]
    )
    return score
