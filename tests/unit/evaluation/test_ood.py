"""Out-of-domain tasks through lm-evaluation-harness (Table 3): the demo world's own task
definition, offline, gives the same accuracy as our MMLU scorer on the same questions."""

import copy
import json

import pytest
from helpers.tiny import save_tiny_model
from helpers.workflow import load_config

from maec.evaluation.mmlu import evaluate_mmlu
from maec.evaluation.ood import evaluate_ood, metric_value, task_requests

QUESTIONS = [
    ("Which animal lives in water?", ["cat", "fish", "bird", "ant"], "B"),
    ("Which animal has feathers?", ["bird", "dog", "cow", "bee"], "A"),
    ("Which animal has six legs?", ["cow", "trout", "ant", "owl"], "C"),
    ("Which animal has fur?", ["eel", "crow", "fly", "fox"], "D"),
    ("Which one is a mammal?", ["bat", "cod", "wasp", "hen"], "A"),
]


def _okapi(path):
    records = [
        {
            "instruction": question,
            **{f"option_{letter}": o for letter, o in zip("abcd", options)},
            "answer": answer,
            "id": f"high_school_biology/test/{i}",
        }
        for i, (question, options, answer) in enumerate(QUESTIONS)
    ]
    path.write_text(json.dumps(records))
    return path


def _world_task(data_file):
    """The demo config's task definition, reading `data_file`."""
    task = copy.deepcopy(
        load_config("demo.yaml")["experiments"]["ood"]["tasks"]["world_science_es"]
    )
    task["definition"]["dataset_kwargs"]["data_files"]["test"] = str(data_file)
    return task


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("model")
    save_tiny_model(directory)
    return directory


def test_the_world_task_scores_as_our_mmlu_scorer(tiny_model, tmp_path):
    data = _okapi(tmp_path / "es_test.json")
    scores = evaluate_ood(
        tiny_model,
        {"world_science_es": _world_task(data)},
        tmp_path / "ood" / "scores.json",
        tmp_path / "ood" / "lm_eval.json",
        batch_size=4,
        offline=True,
        device="cpu",
    )
    ours = evaluate_mmlu(
        tiny_model, data, data, "es", tmp_path / "m.jsonl", tmp_path / "m.json", n_shots=0
    )
    task = scores["tasks"]["world_science_es"]
    assert task["n"] == len(QUESTIONS) and task["metric"] == "acc"
    assert task["value"] == pytest.approx(ours["acc"])
    assert json.loads((tmp_path / "ood" / "scores.json").read_text()) == scores
    harness = json.loads((tmp_path / "ood" / "lm_eval.json").read_text())
    assert harness["results"]["world_science_es"]["acc,none"] == task["value"]


def test_bad_tasks_fail_before_the_model_loads(tmp_path):
    outputs = (tmp_path / "s.json", tmp_path / "r.json")
    with pytest.raises(FileNotFoundError, match="not a model directory"):
        evaluate_ood(tmp_path, {"mmlu": {"metric": "acc"}}, *outputs)
    save_tiny_model(tmp_path / "m")
    with pytest.raises(ValueError, match=r"\['no_such_task'\] are not lm-evaluation-harness"):
        evaluate_ood(tmp_path / "m", {"no_such_task": {"metric": "acc"}}, *outputs)
    with pytest.raises(ValueError, match="task 'x': no metric"):
        task_requests({"x": {"definition": {}}})
    assert not any(p.exists() for p in outputs)


def test_metric_value_reads_the_harness_keys():
    results = {"t": {"acc,none": 0.5, "acc_stderr,none": 0.1, "acc_norm,none": 0.25}}
    assert metric_value(results, "t", "acc") == 0.5
    assert metric_value(results, "t", "acc_norm") == 0.25
    with pytest.raises(ValueError, match="metric 'pass_at_1' is not one of its results"):
        metric_value(results, "t", "pass_at_1")
    with pytest.raises(ValueError, match="no results for task 'u'"):
        metric_value(results, "u", "acc")
