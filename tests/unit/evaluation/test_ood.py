"""Out-of-domain tasks through lm-evaluation-harness (Table 3): the demo world's own task
definition, offline, gives the same accuracy as our MMLU scorer on the same questions."""

import copy
import json

import pytest
from helpers.tiny import save_tiny_model
from helpers.workflow import load_config

from maec.evaluation.mmlu import evaluate_mmlu
from maec.evaluation.ood import (
    evaluate_ood,
    item_records,
    metric_value,
    task_requests,
    task_samples,
)

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
        tmp_path / "ood" / "items.jsonl",
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
    # per item, from the harness's logged samples: the same verdicts as our scorer's records
    items = [json.loads(line) for line in (tmp_path / "ood" / "items.jsonl").open()]
    assert [item["item"] for item in items] == [str(i) for i in range(len(QUESTIONS))]
    assert {item["task"] for item in items} == {"world_science_es"}
    ours_items = [json.loads(line) for line in (tmp_path / "m.jsonl").open()]
    assert [item["acc"] for item in items] == [float(r["acc_correct"]) for r in ours_items]
    assert sum(item["acc"] for item in items) / len(items) == pytest.approx(task["value"])


def test_bad_tasks_fail_before_the_model_loads(tmp_path):
    outputs = (tmp_path / "s.json", tmp_path / "r.json", tmp_path / "i.jsonl")
    with pytest.raises(FileNotFoundError, match="not a model directory"):
        evaluate_ood(tmp_path, {"mmlu": {"metric": "acc"}}, *outputs)
    save_tiny_model(tmp_path / "m")
    with pytest.raises(ValueError, match=r"\['no_such_task'\] are not lm-evaluation-harness"):
        evaluate_ood(tmp_path / "m", {"no_such_task": {"metric": "acc"}}, *outputs)
    with pytest.raises(ValueError, match="task 'x': no metric"):
        task_requests({"x": {"definition": {}}})
    assert not any(p.exists() for p in outputs)


def test_item_records_are_the_samples_of_the_reported_metrics_filter():
    def sample(doc_id, target, response, filter_key, value):
        return dict(
            doc_id=doc_id,
            target=target,
            filtered_resps=[response],
            filter=filter_key,
            exact_match=value,
        )

    output = {
        "samples": {
            "a": [sample(0, 2, "4", "strict", 0.0), sample(0, 2, "2", "flex", 1.0)],
            "b": [sample(0, 3, "3", "strict", 1.0), sample(1, 5, "5", "strict", 1.0)],
        },
        "group_subtasks": {"group": ["a", "b"]},
    }
    records = item_records(task_samples(output, "group"), "group", "exact_match,strict")
    assert records == [
        {"task": "group", "item": "a/0", "target": "2", "response": ["4"], "exact_match": 0.0},
        {"task": "group", "item": "b/0", "target": "3", "response": ["3"], "exact_match": 1.0},
        {"task": "group", "item": "b/1", "target": "5", "response": ["5"], "exact_match": 1.0},
    ]
    assert [
        r["item"] for r in item_records(task_samples(output, "a"), "a", "exact_match,flex")
    ] == ["0"]
    with pytest.raises(ValueError, match="logged no items for 'exact_match,none'"):
        item_records(task_samples(output, "a"), "a", "exact_match,none")
    with pytest.raises(ValueError, match="task 'c': the harness logged no samples"):
        task_samples(output, "c")


def test_metric_value_reads_the_harness_keys():
    results = {"t": {"acc,none": 0.5, "acc_stderr,none": 0.1, "acc_norm,none": 0.25}}
    assert metric_value(results, "t", "acc") == 0.5
    assert metric_value(results, "t", "acc_norm") == 0.25
    with pytest.raises(ValueError, match="metric 'pass_at_1' is not one of its results"):
        metric_value(results, "t", "pass_at_1")
    with pytest.raises(ValueError, match="no results for task 'u'"):
        metric_value(results, "u", "acc")
