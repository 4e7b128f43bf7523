"""The benchmarks an ability is scored on, as the config defines them, and their checks
while the workflow plans.

Two are built in, each with a scorer of its own: MGSM (`evaluation.mgsm`) and the
multilingual MMLU science subjects (`evaluation.mmlu`). Every other benchmark is one of
`evaluation.harness`: an lm-evaluation-harness task per language, scored by the rule
`evaluate_{bench}` (`maec.evaluation.harness`). A task is one the config defines
(`definitions`: the keys of a task YAML file), one of the benchmark's `task_dir` (task YAML
files of one's own), or one built into the harness; its `metric` must have a verdict per item.

Pure functions of the validated config, but `check_harness_tasks`, which reads task files
and, for a task of neither kind, the harness's own index.
"""

from collections.abc import Mapping
from pathlib import Path

import yaml

from maec.workflow import corpora

BUILT_IN = ("mgsm", "mmlu")

# What a task without a metric_list reports, by output type (lm-evaluation-harness's defaults).
DEFAULT_TASK_METRICS = {
    "multiple_choice": ["acc", "acc_norm"],
    "loglikelihood": ["perplexity", "acc"],
    "generate_until": ["exact_match"],
}


def harness_benchmarks(config) -> dict[str, dict]:
    return config["evaluation"].get("harness", {})


def is_harness(config, bench: str) -> bool:
    return bench not in BUILT_IN and bench in harness_benchmarks(config)


def benchmark_key(bench: str) -> str:
    """The config key that defines a benchmark."""
    return f"evaluation.{bench}" if bench in BUILT_IN else f"evaluation.harness.{bench}"


def benchmark_languages(config, bench: str) -> list[str]:
    """The languages a benchmark scores: MGSM's and MMLU's `languages`, a harness
    benchmark's languages with a task."""
    if bench in BUILT_IN:
        return list(config["evaluation"][bench]["languages"])
    return list(harness_benchmarks(config)[bench]["tasks"])


def language_keys(config, bench: str) -> list[tuple[str, str]]:
    """(config key, language) of every language a benchmark scores."""
    if bench in BUILT_IN:
        return [
            (f"evaluation.{bench}.languages[{i}]", lang)
            for i, lang in enumerate(config["evaluation"][bench]["languages"])
        ]
    tasks = harness_benchmarks(config)[bench]["tasks"]
    return [(f"evaluation.harness.{bench}.tasks.{lang}", lang) for lang in tasks]


def scored_benchmarks(config) -> list[str]:
    """The built-in benchmarks, then those of evaluation.harness."""
    return [*BUILT_IN, *harness_benchmarks(config)]


def has_dev_split(config, bench: str) -> bool:
    """Whether the selection can score a benchmark on a dev split: MGSM's and MMLU's
    (experiments.selection), a harness benchmark's `dev_tasks`."""
    return bench in BUILT_IN or harness_benchmarks(config)[bench]["dev_tasks"] is not None


def harness_settings(config, bench: str, dev: bool = False) -> dict:
    """What `evaluate_{bench}` (`dev`: `evaluate_{bench}_dev`, on the dev tasks) passes to
    `maec.evaluation.harness.evaluate_harness_languages`."""
    spec = dict(harness_benchmarks(config)[bench])
    dev_tasks = spec.pop("dev_tasks")
    return spec | {"tasks": dev_tasks} if dev else spec


def definition_data_files(definition: Mapping) -> list[str]:
    """The local files a task definition reads, so that the DAG makes them first: its
    `dataset_kwargs.data_files`, and any other `dataset_kwargs` value that is a local path
    (what a task's own `custom_dataset` function is given)."""
    kwargs = definition.get("dataset_kwargs") or {}
    data_files = kwargs.get("data_files", {})
    paths = list(data_files.values() if isinstance(data_files, Mapping) else [data_files])
    paths += [value for key, value in kwargs.items() if key != "data_files"]
    return [p for p in paths if isinstance(p, str) and corpora.is_local_path(p)]


def harness_inputs(config, bench: str, dev: bool = False) -> list[str]:
    """The files an evaluation on a harness benchmark (`dev`: on its dev tasks) reads besides
    the model: the task_dir's files and the local data of every task it runs
    (`definition_data_files`)."""
    spec = harness_benchmarks(config)[bench]
    local = _local_tasks(spec)
    tasks = spec["dev_tasks" if dev else "tasks"]
    data = [path for task in tasks.values() for path in definition_data_files(local.get(task, {}))]
    task_dir = spec["task_dir"]
    code = (
        []
        if task_dir is None
        else sorted(
            str(path)
            for path in Path(task_dir).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        )
    )
    return list(dict.fromkeys(data + code))


# ---- checks while planning ----------------------------------------------------------------


class _TaskFileLoader(yaml.SafeLoader):
    """Reads a harness task file's keys; its `!function` hooks stay unread strings."""


_TaskFileLoader.add_multi_constructor("!", lambda loader, tag, node: f"{tag} {node.value}")


def _task_files(task_dir: str | None) -> list[tuple[Path, dict]]:
    """(path, keys) of every task YAML file under `task_dir`, as the harness indexes them."""
    if task_dir is None:
        return []
    directory = Path(task_dir)
    if not directory.is_dir():
        raise ValueError(f"{task_dir}: not a directory of task YAML files")
    files = []
    for path in sorted(directory.rglob("*.yaml")):
        keys = yaml.load(path.read_text(encoding="utf-8"), Loader=_TaskFileLoader)
        files.append((path, keys if isinstance(keys, dict) else {}))
    return files


def _with_includes(path: Path, keys: dict) -> dict:
    """A task file's keys over those of the file it `include`s (the harness's templates)."""
    include = keys.get("include")
    if not isinstance(include, str):
        return keys
    base = path.parent / include
    if not base.is_file():
        return keys
    parent = yaml.load(base.read_text(encoding="utf-8"), Loader=_TaskFileLoader) or {}
    return {**_with_includes(base, parent), **keys}


def task_metrics(definition: Mapping) -> list[str] | None:
    """The metrics a task definition reports (None: not known from its keys)."""
    if "metric_list" in definition:
        return [entry.get("metric") for entry in definition["metric_list"] or []]
    return DEFAULT_TASK_METRICS.get(definition.get("output_type", "generate_until"))


def _local_tasks(spec: Mapping) -> dict[str, dict]:
    """Task name -> its keys, of the config's definitions and the task_dir's files."""
    tasks = {}
    for path, keys in _task_files(spec["task_dir"]):
        names = keys.get("task")
        for name in names if isinstance(names, list) else [names]:
            if isinstance(name, str):
                tasks[name] = _with_includes(path, keys)
    return tasks | {name: dict(d) for name, d in spec["definitions"].items()}


def _harness_index() -> dict:
    """The harness's built-in tasks: name -> its index entry."""
    from lm_eval.tasks import TaskManager

    return TaskManager().task_index


def _indexed_task_keys(entry) -> dict | None:
    """A built-in task's keys, as the harness's index resolved them (None: a group or a tag,
    whose metric is checked when it runs)."""
    keys = getattr(entry, "cfg", None)
    if getattr(entry.kind, "name", None) != "TASK" or not isinstance(keys, Mapping):
        return None
    return dict(keys)


def check_harness_benchmarks(config, index=None) -> None:
    """Every harness benchmark is named as the tables and paths need, scores only languages
    the config builds, names tasks (and dev tasks) that exist and report its metric; every
    ability's benchmark is defined. `index`: the harness's task index (read when a task is
    neither defined in the config nor in its task_dir)."""
    defined = ", ".join(harness_benchmarks(config)) or "none"
    for ability, spec in config["abilities"].items():
        if spec["benchmark"] not in scored_benchmarks(config):
            raise ValueError(
                f"config: abilities.{ability}.benchmark: {spec['benchmark']!r} is neither mgsm, "
                f"mmlu nor a benchmark of evaluation.harness ({defined})"
            )
    for bench, spec in harness_benchmarks(config).items():
        key = f"evaluation.harness.{bench}"
        if bench in BUILT_IN:
            raise ValueError(f"config: {key}: {bench} is a built-in benchmark (evaluation.{bench})")
        _check_languages(config, key, spec)
        try:
            local = _local_tasks(spec)
        except (ValueError, yaml.YAMLError) as err:
            raise ValueError(f"config: {key}.task_dir: {err}") from None
        named = [*spec["tasks"].values(), *(spec["dev_tasks"] or {}).values()]
        if index is None and any(task not in local for task in named):
            index = _harness_index()
        for part in ("tasks", "dev_tasks"):
            for lang, task in (spec[part] or {}).items():
                _check_task(f"{key}.{part}.{lang}", key, spec, task, local, index)


def _check_languages(config, key: str, spec: Mapping) -> None:
    """Languages the config builds, one task each; the dev tasks score the same languages."""
    built = corpora.all_languages(config)
    for lang in spec["tasks"]:
        if lang not in built:
            raise ValueError(
                f"config: {key}.tasks.{lang}: {lang!r} is not a language the config builds "
                f"(reference_language and languages: {', '.join(built)})"
            )
    dev = spec["dev_tasks"]
    if dev is not None and list(dev) != list(spec["tasks"]):
        raise ValueError(
            f"config: {key}.dev_tasks: languages {', '.join(dev)}, but tasks has "
            f"{', '.join(spec['tasks'])}; a dev task for each language, in the same order"
        )
    for part in ("tasks", "dev_tasks"):
        named = list((spec[part] or {}).values())
        for lang, task in (spec[part] or {}).items():
            if named.count(task) > 1:
                raise ValueError(
                    f"config: {key}.{part}.{lang}: task {task!r} scores another language too; "
                    "one task per language"
                )


def _check_task(where: str, key: str, spec: Mapping, task: str, local, index) -> None:
    """The task exists, and reports the benchmark's metric where its keys say what it does."""
    if task in local:
        keys = local[task]
    elif task in index:
        keys = _indexed_task_keys(index[task])
    else:
        also = " nor of its task_dir" if spec["task_dir"] else ""
        raise ValueError(
            f"config: {where}: {task!r} is neither a task of {key}.definitions{also} nor an "
            "lm-evaluation-harness task"
        )
    metrics = None if keys is None else task_metrics(keys)
    if metrics is not None and spec["metric"] not in metrics:
        raise ValueError(
            f"config: {key}.metric: task {task!r} ({where}) does not report "
            f"{spec['metric']!r}; it reports {', '.join(map(str, metrics))}"
        )
