"""MGSM as lm-evaluation-harness tasks of one's own, replicating the workflow's MGSM scorer
(maec.evaluation.mgsm): its questions and prompts, greedy generation to its stop label, and
the verdict of its flexible extraction (the last number of the answer). The harness does the
generating; everything else is the scorer's own code, so both give the same verdict on every
question (tests/e2e/test_demo_world.py)."""

from decimal import Decimal

from datasets import Dataset

from maec.evaluation.extraction import extract_flexible, format_number, is_correct
from maec.evaluation.languages import labels_for
from maec.evaluation.loaders import load_mgsm_exemplars, load_mgsm_questions
from maec.evaluation.mgsm import mgsm_prompt


def questions(questions, exemplars, lang, n_shots=0, chain_of_thought=True, **_):
    """The task's test split: each question with the prompt the scorer builds for it."""
    labels = labels_for(lang)
    shots = load_mgsm_exemplars(exemplars, lang)[:n_shots] if n_shots else []
    rows = [
        {
            "source": question.source,
            "prompt": mgsm_prompt(
                question.question, shots, labels, chain_of_thought=chain_of_thought
            ),
            "gold": format_number(question.gold),
        }
        for question in load_mgsm_questions(questions)
    ]
    return {"test": Dataset.from_list(rows)}


def prompt(doc):
    return doc["prompt"]


def flexible_verdict(doc, results):
    """The scorer's flexible verdict: the last number of the generation is the gold one."""
    predicted = extract_flexible(results[0])
    return {"flexible_acc": float(is_correct(predicted, Decimal(doc["gold"])))}
