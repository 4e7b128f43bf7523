"""An ability scored through lm-evaluation-harness: one harness task per language.

A benchmark of the config's `evaluation.harness` names a task for each language it scores
(a task built into the harness, one defined in the config by the keys of a task YAML file,
or one of a directory of task YAML files) and the metric the tables report. One job loads
the model once, a directory or a merge variant merged on load (`maec.evaluation.on_load`),
and runs every language's task on it. Each language gets the same two files as MGSM and
m_MMLU: per-item records from the harness's logged samples (`source`: the item, its
document's `source` field where it has one, and `{metric}_correct`: its verdict) and a
score summary whose `metric` names the value the tables read. So intervals, paired
differences, McNemar, seeds, Table 2 and every study read such an ability as they read the
built-in two.

The tables' statistics need one verdict per item: a metric whose per-item values are not 0
or 1 (BLEU, pass@k over several samples), or whose task score is not the mean of its items,
is refused, naming the task.
"""

import logging
import math
from collections.abc import Mapping, Sequence

from maec.evaluation.generation import model_and_tokenizer
from maec.evaluation.ood import (
    item_records,
    metric_key,
    set_harness_environment,
    task_manager,
    task_samples,
)
from maec.evaluation.records import write_json, write_jsonl
from maec.report.tables.intervals import correct_key
from maec.training.device import resolve_device

log = logging.getLogger(__name__)


def language_requests(
    tasks: Mapping[str, str], definitions: Mapping[str, Mapping] | None = None
) -> dict[str, str | dict]:
    """language -> what the harness is asked to run: a task's name, or the config's
    definition of it (the keys of a task YAML file) under that name."""
    definitions = definitions or {}
    named = list(tasks.values())
    repeated = sorted({task for task in named if named.count(task) > 1})
    if repeated:
        raise ValueError(f"tasks {repeated} score more than one language; one task per language")
    return {
        lang: {**definitions[task], "task": task} if task in definitions else task
        for lang, task in tasks.items()
    }


def item_sources(samples: Sequence[tuple[str, Mapping]]) -> dict[str, str]:
    """item -> the `source` field of its document, for the tasks whose documents name their
    questions (a task of one's own may, as our MGSM replica does); other items keep the
    harness's doc_id."""
    return {
        item: str(sample["doc"]["source"])
        for item, sample in samples
        if isinstance(sample.get("doc"), Mapping) and "source" in sample["doc"]
    }


def verdict_records(
    records: Sequence[Mapping], task: str, metric: str, sources: Mapping[str, str] | None = None
) -> list[dict]:
    """The harness's per-item records of a task (`maec.evaluation.ood.item_records`) as the
    tables read them: `source` the item (or its document's own name, `sources`),
    `{metric}_correct` its verdict. A value other than 0 or 1 has no verdict: an error naming
    the task and the item."""
    sources = sources or {}
    verdicts = []
    for record in records:
        value = record[metric]
        if value not in (0.0, 1.0):
            raise ValueError(
                f"task {task!r}: item {record['item']} has {metric} {value}, not 0 or 1; the "
                "tables need a verdict per item (choose a metric such as acc or exact_match)"
            )
        verdicts.append(
            {
                "source": sources.get(record["item"], record["item"]),
                "target": record["target"],
                "response": record["response"],
                correct_key(metric): value == 1.0,
            }
        )
    return verdicts


def language_score(
    bench: str, lang: str, task: str, metric: str, verdicts: Sequence[Mapping], reported: float
) -> dict:
    """A language's score summary: the mean of the items' verdicts, which must be the
    harness's own score of the task (a task that weighs its items otherwise is refused)."""
    accuracy = sum(v[correct_key(metric)] for v in verdicts) / len(verdicts)
    if not math.isclose(accuracy, reported, abs_tol=1e-9):
        raise ValueError(
            f"task {task!r}: the harness reports {metric} {reported:.6f}, but its items' "
            f"mean is {accuracy:.6f}; the tables need a score that is the mean of its items"
        )
    return {"bench": bench, "lang": lang, "task": task, "metric": metric, metric: accuracy}


def item_account(counts: Mapping | None, scored: int) -> dict:
    """`items`, `scored`, `not_scored` as MGSM's and m_MMLU's summaries give them, from the
    harness's `n-samples` of a task ({original, effective}: a `limit` keeps the first)."""
    items = int((counts or {}).get("original", scored))
    return {"items": items, "scored": scored, "not_scored": {"limit": items - scored}}


def evaluate_harness_languages(
    model,
    bench: str,
    tasks: Mapping[str, str],
    metric: str,
    out_records: Sequence,
    out_scores: Sequence,
    *,
    definitions: Mapping[str, Mapping] | None = None,
    task_dir: str | None = None,
    num_fewshot: int | None = None,
    batch_size: int = 8,
    limit: int | None = None,
    allow_code_execution: bool = False,
    offline: bool = False,
    device=None,
) -> list[dict]:
    """Score `model` (a model directory, or a model source such as a merge variant merged on
    load) on `tasks` (language -> task name), writing each language's records and score,
    in the order of `tasks`, to `out_records` and `out_scores`; return the scores."""
    if len(out_records) != len(tasks) or len(out_scores) != len(tasks):
        raise ValueError(f"{bench}: {len(tasks)} languages but other numbers of output files")
    requests = language_requests(tasks, definitions)
    set_harness_environment(offline, allow_code_execution)
    manager = task_manager(list(requests.values()), task_dir)
    torch_device = resolve_device(device)
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    loaded, tokenizer = model_and_tokenizer(model, torch_device)
    log.info("%s: tasks %s, model %s on %s", bench, dict(tasks), model, torch_device)
    output = lm_eval.simple_evaluate(
        model=HFLM(pretrained=loaded, tokenizer=tokenizer, batch_size=batch_size),
        tasks=list(requests.values()),
        num_fewshot=num_fewshot,
        limit=limit,
        log_samples=True,
        task_manager=manager,
        confirm_run_unsafe_code=allow_code_execution,
    )
    settings = {
        "num_fewshot": num_fewshot,
        "limit": limit,
        "batch_size": batch_size,
        "device": str(torch_device),
        "harness": lm_eval.__version__,
    }
    scores = []
    for (lang, task), records_path, score_path in zip(
        tasks.items(), out_records, out_scores, strict=True
    ):
        key = metric_key(output["results"], task, metric)
        samples = task_samples(output, task)
        records = item_records(samples, task, key)
        verdicts = verdict_records(records, task, metric, item_sources(samples))
        score = language_score(
            bench, lang, task, metric, verdicts, float(output["results"][task][key])
        )
        score |= {"n": len(verdicts)} | item_account(output["n-samples"].get(task), len(verdicts))
        score |= {"model_dir": str(model), "settings": settings}
        write_jsonl(records_path, verdicts)
        write_json(score_path, score)
        log.info(
            "%s %s (%s): %s %.4f over %d items",
            bench,
            lang,
            task,
            metric,
            score[metric],
            len(verdicts),
        )
        scores.append(score)
    return scores
