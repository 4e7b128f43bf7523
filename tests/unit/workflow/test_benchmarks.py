"""maec.workflow.benchmarks: benchmarks of lm-evaluation-harness tasks in the config, and
what is refused while the workflow plans (each message names the key). Tasks come from the
config's definitions, a task directory or a stand-in for the harness's index (the real index
is read through `snakemake -n` in tests/workflow/test_refusals.py)."""

import copy
from types import SimpleNamespace

import pytest
import yaml
from helpers import REPO
from helpers.configs import SCHEMA, overlaid
from helpers.workflow import load_config
from snakemake.utils import validate

from maec.workflow import scores
from maec.workflow.benchmarks import (
    benchmark_languages,
    check_harness_benchmarks,
    harness_inputs,
    harness_settings,
    language_keys,
    task_metrics,
)
from maec.workflow.config_checks import check_config, selection_abilities

pytestmark = pytest.mark.reliability

LANGUAGES = ["en", "es", "zh", "bn", "te"]


def demo_harness() -> dict:
    config = overlaid(load_config("demo.yaml"), "examples/demo-science-harness.yaml")
    validate(config, SCHEMA)
    return config


def _index(**tasks):
    """A stand-in for the harness's index: name -> a task entry with these keys."""
    return {
        name: SimpleNamespace(kind=SimpleNamespace(name="TASK"), cfg=keys)
        for name, keys in tasks.items()
    }


def test_the_demo_overlay_plans_science_on_harness_tasks():
    config = demo_harness()
    check_config(config)
    assert benchmark_languages(config, "worldsci") == LANGUAGES
    assert language_keys(config, "worldsci")[1] == ("evaluation.harness.worldsci.tasks.es", "es")
    assert scores.results_benches(config, "maec_science") == ["worldsci"]
    assert scores.results_benches(config, "backbone") == ["mgsm", "worldsci"]
    assert harness_inputs(config, "worldsci") == [
        f"results/world/mmlu/{lang}_test.json" for lang in LANGUAGES
    ]
    # the dev tasks give the selection its dev split, on the same languages
    assert selection_abilities(config) == ["math", "science"]
    dev = harness_settings(config, "worldsci", dev=True)
    assert dev["tasks"] == {lang: f"worldsci_dev_{lang}" for lang in LANGUAGES}
    assert "dev_tasks" not in dev and "dev_tasks" not in harness_settings(config, "worldsci")
    assert harness_inputs(config, "worldsci", dev=True) == [
        f"results/world/mmlu/{lang}_val.json" for lang in LANGUAGES
    ]


def test_the_mgsm_replica_example_plans_from_its_task_directory():
    config = overlaid(load_config("demo.yaml"), "examples/demo-math-harness.yaml")
    bench = config["evaluation"]["harness"]["mgsmreplica"]
    bench["task_dir"] = str(REPO / bench["task_dir"])
    validate(config, SCHEMA)
    check_config(config)  # its tasks and their flexible_acc come from the directory's files
    inputs = harness_inputs(config, "mgsmreplica")
    assert inputs[:2] == ["results/world/mgsm/mgsm_en.tsv", "results/world/mgsm/exemplars.json"]
    assert str(REPO / "config/examples/mgsm-tasks/utils.py") in inputs
    assert selection_abilities(config) == ["science"]  # no dev tasks: no selection for math


def test_the_medical_example_names_tasks_the_harness_reports_acc_for():
    config = overlaid(load_config("config.yaml"), "examples/medical.yaml")
    validate(config, SCHEMA)
    tasks = config["evaluation"]["harness"]["globalmed"]["tasks"]
    index = _index(**{t: {"output_type": "multiple_choice"} for t in tasks.values()})
    check_harness_benchmarks(config, index)
    assert benchmark_languages(config, "globalmed") == LANGUAGES


def _refusal(mutate, index=None) -> str:
    config = demo_harness()
    mutate(config)
    with pytest.raises(ValueError) as error:
        check_harness_benchmarks(config, index if index is not None else _index())
    return str(error.value)


def _bench(config):
    return config["evaluation"]["harness"]["worldsci"]


def test_an_undefined_benchmark_is_refused_naming_the_ability():
    message = _refusal(lambda c: c["abilities"]["science"].update(benchmark="worldscience"))
    assert message == (
        "config: abilities.science.benchmark: 'worldscience' is neither mgsm, mmlu nor a "
        "benchmark of evaluation.harness (worldsci)"
    )


def test_a_language_the_config_does_not_build_is_refused():
    message = _refusal(lambda c: _bench(c)["tasks"].update(fr="worldsci_en"))
    assert message.startswith(
        "config: evaluation.harness.worldsci.tasks.fr: 'fr' is not a language the config builds"
    )


def test_a_task_that_exists_nowhere_is_refused():
    message = _refusal(lambda c: _bench(c)["tasks"].update(bn="worldsci_bengali"))
    assert message == (
        "config: evaluation.harness.worldsci.tasks.bn: 'worldsci_bengali' is neither a task of "
        "evaluation.harness.worldsci.definitions nor an lm-evaluation-harness task"
    )
    # one the harness has passes
    config = demo_harness()
    _bench(config)["tasks"]["bn"] = "belebele_ben_Beng"
    check_harness_benchmarks(config, _index(belebele_ben_Beng={"output_type": "multiple_choice"}))


def test_a_metric_the_task_does_not_report_is_refused():
    message = _refusal(lambda c: _bench(c).update(metric="exact_match"))
    assert message == (
        "config: evaluation.harness.worldsci.metric: task 'worldsci_en' "
        "(evaluation.harness.worldsci.tasks.en) does not report 'exact_match'; it reports acc"
    )
    # a built-in task's metrics as the harness's index resolved its keys
    index = _index(gen={"output_type": "generate_until", "metric_list": [{"metric": "bleu"}]})
    message = _refusal(lambda c: _bench(c)["tasks"].update(en="gen"), index)
    assert "task 'gen' (evaluation.harness.worldsci.tasks.en) does not report 'acc'" in message


def test_one_task_scores_one_language():
    message = _refusal(lambda c: _bench(c)["tasks"].update(es="worldsci_en"))
    assert message.startswith(
        "config: evaluation.harness.worldsci.tasks.en: task 'worldsci_en' scores another language"
    )


def test_a_built_in_name_is_not_a_harness_benchmark():
    def mutate(config):
        config["evaluation"]["harness"]["mmlu"] = _bench(config)

    assert _refusal(mutate) == (
        "config: evaluation.harness.mmlu: mmlu is a built-in benchmark (evaluation.mmlu)"
    )


def test_the_selection_leaves_out_or_refuses_an_ability_without_a_dev_split():
    config = demo_harness()
    _bench(config)["dev_tasks"] = None
    assert selection_abilities(config) == ["math"]
    config["experiments"]["selection"]["abilities"] = ["math", "science"]
    with pytest.raises(
        ValueError,
        match=r"selection\.abilities names 'science', whose benchmark has no dev split "
        r"\(evaluation\.harness\.worldsci\.dev_tasks\)",
    ):
        check_config(config)


def test_dev_tasks_score_the_same_languages_and_exist():
    message = _refusal(lambda c: _bench(c)["dev_tasks"].pop("te"))
    assert message.startswith(
        "config: evaluation.harness.worldsci.dev_tasks: languages en, es, zh, bn, but tasks has "
        "en, es, zh, bn, te"
    )
    message = _refusal(lambda c: _bench(c)["dev_tasks"].update(bn="worldsci_dev_bengali"))
    assert message.startswith(
        "config: evaluation.harness.worldsci.dev_tasks.bn: 'worldsci_dev_bengali' is neither"
    )


def test_tasks_of_a_task_directory_with_their_templates(tmp_path):
    (tmp_path / "_template.yaml").write_text(
        "output_type: multiple_choice\nmetric_list:\n  - metric: acc_norm\n"
    )
    for lang in LANGUAGES:
        (tmp_path / f"sci_{lang}.yaml").write_text(
            f"include: _template.yaml\ntask: sci_{lang}\nprocess_docs: !function utils.docs\n"
        )
    config = demo_harness()
    bench = _bench(config)
    bench.update(task_dir=str(tmp_path), definitions={}, metric="acc_norm", dev_tasks=None)
    bench["tasks"] = {lang: f"sci_{lang}" for lang in LANGUAGES}
    check_harness_benchmarks(config, index={})
    assert harness_inputs(config, "worldsci") == sorted(str(p) for p in tmp_path.glob("*.yaml"))
    bench["metric"] = "acc"
    message = _refusal_of(config)
    assert "does not report 'acc'; it reports acc_norm" in message
    bench["task_dir"] = str(tmp_path / "none")
    assert "task_dir: " in _refusal_of(config) and "not a directory" in _refusal_of(config)


def _refusal_of(config) -> str:
    with pytest.raises(ValueError) as error:
        check_harness_benchmarks(copy.deepcopy(config), index={})
    return str(error.value)


@pytest.mark.parametrize(
    "keys, metrics",
    [
        ({"metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]}, ["acc", "acc_norm"]),
        ({"output_type": "multiple_choice"}, ["acc", "acc_norm"]),
        ({}, ["exact_match"]),
        (yaml.safe_load("output_type: loglikelihood"), ["perplexity", "acc"]),
    ],
)
def test_task_metrics(keys, metrics):
    assert task_metrics(keys) == metrics
