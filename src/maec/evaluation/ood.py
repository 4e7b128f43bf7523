"""Out-of-domain tasks (the paper's Table 3) through lm-evaluation-harness.

A model directory is scored with the harness's `hf` model on tasks named in the config: a
task built into the harness by its name (mmlu, mbpp, openbookqa), or a task of one's own by
its definition, the keys of a harness task YAML file given as a mapping (the demo world's
science questions read from local JSON files). Each task reports the one metric the config
names for it (`acc`, `acc_norm`, `pass_at_1`, as the harness names them), as a fraction,
and every item's value of it from the harness's logged samples (Table 3's intervals).
"""

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from maec.io.atomic import write_text
from maec.training.device import resolve_device

from .records import write_jsonl

log = logging.getLogger(__name__)


def task_requests(tasks: Mapping[str, Mapping]) -> list[str | dict]:
    """What the harness is asked to run: a built-in task's name, or a defined task's config."""
    requests = []
    for name, spec in tasks.items():
        if "metric" not in spec:
            raise ValueError(f"out-of-domain task {name!r}: no metric to report")
        definition = spec.get("definition")
        if definition is None:
            requests.append(name)
        elif not isinstance(definition, Mapping):
            raise ValueError(f"out-of-domain task {name!r}: its definition is not a mapping")
        else:
            requests.append({**definition, "task": name})
    return requests


def set_harness_environment(offline: bool, allow_code_execution: bool) -> None:
    """What the harness reads from the environment: `offline`, every task reads local files
    (never wait on a data-set hub); `allow_code_execution`, code tasks (MBPP, HumanEval)
    execute the generated programs."""
    if offline:
        os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    if allow_code_execution:
        os.environ["HF_ALLOW_CODE_EVAL"] = "1"


def task_manager(requests: list[str | dict], task_dir: str | None = None):
    """The harness's task index: the task YAML files of `task_dir` (if given), and its
    built-in tasks, indexed (seconds) only when a named task is not one of `task_dir`'s. A
    name the index does not know is an error here, before any model is loaded."""
    from lm_eval.tasks import TaskManager

    named = [r for r in requests if isinstance(r, str)]
    manager = TaskManager(include_path=task_dir, include_defaults=False) if task_dir else None
    if manager is None or any(name not in manager.all_tasks for name in named):
        manager = TaskManager(include_path=task_dir, include_defaults=bool(named))
    unknown = [name for name in named if name not in manager.all_tasks]
    if unknown:
        where = f" or of {task_dir}" if task_dir else ""
        raise ValueError(
            f"tasks {unknown} are not lm-evaluation-harness tasks{where}; define them in the "
            "config or fix their names"
        )
    return manager


def metric_key(results: Mapping, task: str, metric: str) -> str:
    """The key of a task's metric in the harness's results: `{metric},{filter}` (filter
    `none` where the task reports the metric under several filters)."""
    by_key = results.get(task)
    if by_key is None:
        raise ValueError(f"lm-evaluation-harness returned no results for task {task!r}")
    keys = [k for k in by_key if k == metric or k.startswith(f"{metric},")]
    if f"{metric},none" in by_key:
        keys = [f"{metric},none"]
    if len(keys) != 1:
        found = sorted(k for k in by_key if "," in k and "_stderr" not in k)
        raise ValueError(f"task {task!r}: metric {metric!r} is not one of its results {found}")
    return keys[0]


def metric_value(results: Mapping, task: str, metric: str) -> float:
    """A task's metric from the harness's results (`acc,none`: the metric of filter none)."""
    key = metric_key(results, task, metric)
    return float(results[task][key])


def task_samples(output: Mapping, task: str) -> list[tuple[str, Mapping]]:
    """(item, logged sample) of a task; of a group (mmlu: 57 subjects), those of every task
    in it (the harness's `group_subtasks`), an item then named `{subtask}/{doc_id}`."""
    if task in output["samples"]:
        return [(str(sample["doc_id"]), sample) for sample in output["samples"][task]]
    subtasks = output.get("group_subtasks", {}).get(task)
    if not subtasks:
        raise ValueError(f"task {task!r}: the harness logged no samples of it")
    return [
        (f"{subtask}/{item}", sample)
        for subtask in subtasks
        for item, sample in task_samples(output, subtask)
    ]


def item_records(samples: list[tuple[str, Mapping]], task: str, key: str) -> list[dict]:
    """A task's per-item records from its logged samples (`task_samples`), those of the
    filter that the reported metric `key` (`metric,filter`) comes from, in the harness's
    order: the task, the item, its target, the model's filtered response and the item's
    metric value (0 or 1 for acc, exact_match, pass@1), whose mean is the task's score where
    the harness averages the metric over items (a group's: weighted by its tasks' sizes)."""
    metric, _, filter_key = key.partition(",")
    records = [
        {
            "task": task,
            "item": item,
            "target": str(sample["target"]),
            "response": json.loads(json.dumps(sample["filtered_resps"], default=str)),
            metric: float(sample[metric]),
        }
        for item, sample in samples
        if sample.get("filter", "none") == (filter_key or "none")
    ]
    if not records:
        raise ValueError(f"task {task!r}: the harness logged no items for {key!r}")
    return records


def evaluate_ood(
    model_dir,
    tasks: Mapping[str, Mapping],
    out_scores,
    out_results,
    out_records,
    *,
    num_fewshot: int | None = None,
    batch_size: int = 8,
    limit: int | None = None,
    allow_code_execution: bool = False,
    offline: bool = False,
    device=None,
) -> dict:
    """Score `model_dir` on `tasks` (name -> {metric, definition?}); write the scores
    ({task: {metric, value, n}}), the per-item records of every task (`item_records`, one
    JSON line each) and the harness's own results; return the scores."""
    if not (Path(model_dir) / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir}: not a model directory (no config.json)")
    requests = task_requests(tasks)
    set_harness_environment(offline, allow_code_execution)
    manager = task_manager(requests)
    torch_device = resolve_device(device)
    import lm_eval

    log.info("out-of-domain tasks %s, model %s on %s", list(tasks), model_dir, torch_device)
    output = lm_eval.simple_evaluate(
        model="hf",
        model_args={
            "pretrained": str(model_dir),
            "dtype": "auto" if torch_device.type == "cuda" else "float32",
        },
        tasks=requests,
        num_fewshot=num_fewshot,
        batch_size=batch_size,
        limit=limit,
        device=str(torch_device),
        log_samples=True,
        task_manager=manager,
        confirm_run_unsafe_code=allow_code_execution,
    )
    records = {
        name: item_records(
            task_samples(output, name), name, metric_key(output["results"], name, spec["metric"])
        )
        for name, spec in tasks.items()
    }
    scores = {
        "model_dir": str(model_dir),
        "tasks": {
            name: {
                "metric": spec["metric"],
                "value": metric_value(output["results"], name, spec["metric"]),
                "n": len(records[name]),
            }
            for name, spec in tasks.items()
        },
        "settings": {"num_fewshot": num_fewshot, "limit": limit, "device": str(torch_device)},
    }
    kept = {key: output.get(key) for key in ("results", "n-samples", "n-shot", "versions")}
    write_text(Path(out_results), json.dumps(kept, indent=1, default=str) + "\n")
    write_jsonl(out_records, [record for name in tasks for record in records[name]])
    write_text(Path(out_scores), json.dumps(scores, indent=1) + "\n")
    return scores
