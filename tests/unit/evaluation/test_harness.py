"""An ability scored through lm-evaluation-harness tasks, one per language: the demo world's
science questions as the harness's multiple-choice tasks give, per item, the verdicts of our
MMLU scorer, and the files they write are read by the tables as MGSM's and m_MMLU's are."""

import copy
import json

import pytest
import yaml
from helpers.tiny import save_tiny_model
from helpers.workflow import load_config

from maec.evaluation.generation import read_model
from maec.evaluation.harness import (
    evaluate_harness_languages,
    item_account,
    item_sources,
    language_requests,
    language_score,
    verdict_records,
)
from maec.evaluation.mmlu import evaluate_mmlu
from maec.report.tables import correctness_from_files, results_frame, scores_from_files

QUESTIONS = {
    "en": [
        ("Which animal lives in water?", ["cat", "fish", "bird", "ant"], "B"),
        ("Which animal has feathers?", ["bird", "dog", "cow", "bee"], "A"),
        ("Which animal has six legs?", ["cow", "trout", "ant", "owl"], "C"),
        ("Which animal has fur?", ["eel", "crow", "fly", "fox"], "D"),
    ],
    "es": [
        ("¿Qué animal vive en el agua?", ["gato", "pez", "ave", "hormiga"], "B"),
        ("¿Qué animal tiene plumas?", ["ave", "perro", "vaca", "abeja"], "A"),
        ("¿Qué animal tiene seis patas?", ["vaca", "trucha", "hormiga", "búho"], "C"),
    ],
}


def _okapi(path, questions):
    path.write_text(
        json.dumps(
            [
                {
                    "instruction": question,
                    **{f"option_{letter}": o for letter, o in zip("abcd", options)},
                    "answer": answer,
                    "id": f"high_school_biology/test/{i}",
                }
                for i, (question, options, answer) in enumerate(questions)
            ]
        )
    )
    return path


def _definition(data_file):
    """The demo config's multiple-choice task definition, reading `data_file`."""
    definition = copy.deepcopy(
        load_config("demo.yaml")["experiments"]["ood"]["tasks"]["world_science_en"]["definition"]
    )
    definition["dataset_kwargs"]["data_files"]["test"] = str(data_file)
    return definition


class _Source:
    """A model source as a merge variant merged on load is one: `load(device)`."""

    def __init__(self, model_dir):
        self.model_dir, self.loads = model_dir, 0

    def __str__(self):
        return "variant (merged on load)"

    def load(self, device):
        self.loads += 1
        return read_model(self.model_dir, device)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("model")
    save_tiny_model(directory)
    return directory


def _files(directory, model, languages):
    records = [directory / model / f"worldsci_{lang}.jsonl" for lang in languages]
    scores = [directory / model / f"worldsci_{lang}.json" for lang in languages]
    return records, scores


def test_harness_tasks_score_as_our_mmlu_scorer_item_by_item(tiny_model, tmp_path):
    data = {lang: _okapi(tmp_path / f"{lang}.json", qs) for lang, qs in QUESTIONS.items()}
    tasks = {lang: f"world_science_{lang}" for lang in QUESTIONS}
    definitions = {tasks[lang]: _definition(path) for lang, path in data.items()}
    records, scores = _files(tmp_path / "eval", "backbone", QUESTIONS)
    options = dict(definitions=definitions, batch_size=4, offline=True, device="cpu")
    written = evaluate_harness_languages(
        tiny_model, "worldsci", tasks, "acc", records, scores, **options
    )
    for lang, score, records_path, score_path in zip(QUESTIONS, written, records, scores):
        ours = evaluate_mmlu(
            tiny_model,
            data[lang],
            data[lang],
            lang,
            tmp_path / "m.jsonl",
            tmp_path / "m.json",
            n_shots=0,
        )
        ours_items = [json.loads(line) for line in (tmp_path / "m.jsonl").open()]
        items = [json.loads(line) for line in records_path.open()]
        assert [item["acc_correct"] for item in items] == [r["acc_correct"] for r in ours_items]
        assert [item["source"] for item in items] == [str(i) for i in range(len(QUESTIONS[lang]))]
        assert score["acc"] == pytest.approx(ours["acc"])
        assert score | {"settings": None} == {
            "bench": "worldsci",
            "lang": lang,
            "task": tasks[lang],
            "metric": "acc",
            "acc": score["acc"],
            "n": len(QUESTIONS[lang]),
            "items": len(QUESTIONS[lang]),
            "scored": len(QUESTIONS[lang]),
            "not_scored": {"limit": 0},
            "model_dir": str(tiny_model),
            "settings": None,
        }
        assert json.loads(score_path.read_text()) == score

    # a merge variant merged on load is loaded once for every language, and scores alike
    source = _Source(tiny_model)
    on_load = _files(tmp_path / "eval", "variant", QUESTIONS)
    again = evaluate_harness_languages(source, "worldsci", tasks, "acc", *on_load, **options)
    assert source.loads == 1
    assert [s["acc"] for s in again] == [s["acc"] for s in written]
    assert again[0]["model_dir"] == "variant (merged on load)"

    # the tables read these files as they read MGSM's and m_MMLU's
    paths = [str(p) for p in scores + on_load[1]]
    labels = {"backbone": "backbone", "variant": "MAEC"}
    cells = correctness_from_files(paths, labels)
    assert set(cells) == {(m, "worldsci", lang) for m in labels.values() for lang in QUESTIONS}
    frame = results_frame(scores_from_files(paths, labels), {"MAEC": 1e9})
    assert list(frame.columns) == [
        "#Tokens (B)",
        "worldsci EN",
        "worldsci ES",
        "worldsci Avg (EN+ES)",
        "worldsci ICER",
    ]
    assert frame.loc["backbone", "worldsci ES"] == pytest.approx(100 * written[1]["acc"])


def test_a_task_of_a_task_directory_and_a_limit(tiny_model, tmp_path):
    path = _okapi(tmp_path / "en.json", QUESTIONS["en"])
    (tmp_path / "tasks").mkdir()
    definition = {"task": "world_science_en", **_definition(path)}
    (tmp_path / "tasks" / "world_science_en.yaml").write_text(yaml.safe_dump(definition))
    records, scores = _files(tmp_path, "m", ["en"])
    [score] = evaluate_harness_languages(
        tiny_model,
        "worldsci",
        {"en": "world_science_en"},
        "acc",
        records,
        scores,
        task_dir=str(tmp_path / "tasks"),
        limit=2,
        offline=True,
        device="cpu",
    )
    assert (score["n"], score["items"], score["scored"]) == (2, 4, 2)
    assert score["not_scored"] == {"limit": 2}
    assert len(records[0].read_text().splitlines()) == 2


def test_bad_tasks_fail_before_the_model_loads(tmp_path):
    source = _Source(tmp_path)
    records, scores = _files(tmp_path, "m", ["en"])
    with pytest.raises(ValueError, match=r"\['no_such_task'\] are not lm-evaluation-harness"):
        evaluate_harness_languages(source, "b", {"en": "no_such_task"}, "acc", records, scores)
    with pytest.raises(ValueError, match=r"tasks \['t'\] score more than one language"):
        language_requests({"en": "t", "es": "t"})
    assert source.loads == 0 and not any(p.exists() for p in records + scores)


def test_requests_name_their_definitions():
    requests = language_requests({"en": "a", "es": "b"}, {"b": {"dataset_path": "json"}})
    assert requests == {"en": "a", "es": {"dataset_path": "json", "task": "b"}}


def test_items_are_named_by_their_documents_source_where_it_has_one():
    samples = [("0", {"doc": {"source": "mgsm_es.tsv:1"}}), ("1", {"doc": {"question": "q"}})]
    sources = item_sources(samples)
    assert sources == {"0": "mgsm_es.tsv:1"}
    records = [
        {"task": "t", "item": item, "target": "1", "response": ["1"], "acc": 1.0}
        for item, _ in samples
    ]
    assert [r["source"] for r in verdict_records(records, "t", "acc", sources)] == [
        "mgsm_es.tsv:1",
        "1",
    ]


def test_only_verdicts_of_zero_or_one_become_records():
    records = [
        {"task": "t", "item": "0", "target": "1", "response": ["1"], "exact_match": 1.0},
        {"task": "t", "item": "1", "target": "2", "response": ["3"], "exact_match": 0.0},
    ]
    assert verdict_records(records, "t", "exact_match") == [
        {"source": "0", "target": "1", "response": ["1"], "exact_match_correct": True},
        {"source": "1", "target": "2", "response": ["3"], "exact_match_correct": False},
    ]
    bleu = [dict(records[0], bleu=37.5)]
    with pytest.raises(ValueError, match="task 't': item 0 has bleu 37.5, not 0 or 1"):
        verdict_records(bleu, "t", "bleu")


def test_a_score_is_the_mean_of_its_verdicts():
    verdicts = [{"acc_correct": True}, {"acc_correct": False}, {"acc_correct": True}]
    score = language_score("b", "en", "t", "acc", verdicts, 2 / 3)
    assert score == {"bench": "b", "lang": "en", "task": "t", "metric": "acc", "acc": 2 / 3}
    with pytest.raises(ValueError, match=r"task 't': the harness reports acc 0.500000, but"):
        language_score("b", "en", "t", "acc", verdicts, 0.5)


def test_item_account_by_hand():
    assert item_account({"original": 10, "effective": 4}, 4) == {
        "items": 10,
        "scored": 4,
        "not_scored": {"limit": 6},
    }
    assert item_account(None, 3) == {"items": 3, "scored": 3, "not_scored": {"limit": 0}}
