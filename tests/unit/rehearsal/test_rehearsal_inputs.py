"""The rehearsal's inputs and configuration, and bad input on the paper's branch of the DAG.

Fast: the inputs are written once (`rehearsal_inputs`); the hub is never reached (offline).
Each bad input stops before any training with one message naming the config key and the
file, and leaves nothing at the output path."""

import json
import shutil

import huggingface_hub.constants
import pytest
import torch
import yaml
from helpers.checkpoints import listing
from helpers.workflow import REPO, load_config

from maec.data.hub import HubError, fetch_mgsm, fetch_model, read_mgsm_exemplars
from maec.data.sources import CorpusError, check_corpus, source_form
from maec.io.reader import open_checkpoint
from maec.rehearsal import write_rehearsal
from maec.rehearsal.config import (
    REHEARSAL_KEYS,
    REPLACED_KEYS,
    TABLE7_KEYS,
    check_overlay,
    overlay_keys,
)

PAPER = load_config("config.yaml")


@pytest.fixture
def offline(monkeypatch):
    """No request leaves this machine: a hub id is unreachable at once."""
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


def flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and f"{prefix}{key}" not in REPLACED_KEYS:
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


# ---- the configuration: the paper's, with sizes and sources changed ----------------------


def test_overlays_set_only_sizes_and_sources():
    check_overlay(load_config("rehearsal.yaml"), "rehearsal.yaml")
    tied = load_config("rehearsal-tied.yaml")
    check_overlay(tied, "rehearsal-tied.yaml", REHEARSAL_KEYS + TABLE7_KEYS)
    with pytest.raises(ValueError, match="languages"):
        check_overlay(tied, "rehearsal-tied.yaml")
    assert "languages" in overlay_keys(tied)


def test_an_overlay_that_changes_the_method_is_refused():
    with pytest.raises(ValueError, match=r"merge\.gamma"):
        check_overlay({"merge": {"gamma": 1.0}, "tokenize": {"block_size": 8}}, "bad.yaml")


def test_generated_configs_differ_from_the_paper_only_in_rehearsal_keys(rehearsal_inputs):
    """The rehearsal changes sizes and sources only; the tied backbone's also takes Table
    7's languages (ES and TE) with the paper's μ for them."""
    from fnmatch import fnmatchcase

    _, configs = rehearsal_inputs
    paper = flat(PAPER)
    allowed = {"config.yaml": REHEARSAL_KEYS, "config-tied.yaml": REHEARSAL_KEYS + TABLE7_KEYS}
    for name, path in configs.items():
        generated = flat(yaml.safe_load(path.read_text()))
        changed = {k for k in paper.keys() | generated.keys() if paper.get(k) != generated.get(k)}
        assert changed
        assert all(any(fnmatchcase(k, p) for p in allowed[name]) for k in changed), changed
        for key in ("abilities.math.k2", "merge.gamma", "key_neurons.k1", "training.lr"):
            assert generated[key] == paper[key]
        assert generated["training.precision"] == "bf16"
        mu = generated["language_weights.mu"]
        assert mu == {k: v for k, v in paper["language_weights.mu"].items() if k in mu}
    assert yaml.safe_load(configs["config.yaml"].read_text())["languages"] == PAPER["languages"]


def test_rehearsal_zero3_differs_from_zero3_only_in_the_persistence_threshold():
    zero3 = json.loads((REPO / "config/deepspeed/zero3.json").read_text())
    rehearsal = json.loads((REPO / "config/deepspeed/zero3-rehearsal.json").read_text())
    zero3["zero_optimization"].pop("stage3_param_persistence_threshold")
    assert rehearsal["zero_optimization"].pop("stage3_param_persistence_threshold") == 0
    assert rehearsal == zero3


def test_without_the_data_folder_nothing_is_written(tmp_path):
    with pytest.raises(FileNotFoundError, match="flores_sib200"):
        write_rehearsal(tmp_path / "out", tmp_path / "no-data", REPO / "config")
    assert not (tmp_path / "out").exists()


# ---- the inputs: the hub's layouts ------------------------------------------------------


def test_backbones_are_in_the_hub_layout(rehearsal_inputs):
    from transformers import AutoConfig, AutoTokenizer

    out, _ = rehearsal_inputs
    for name, tied in [("llama-3-tiny", False), ("qwen2.5-tiny", True)]:
        model_dir = out / "inputs/models" / name
        index = json.loads((model_dir / "model.safetensors.index.json").read_text())
        shards = set(index["weight_map"].values())
        assert len(shards) >= 2 and all((model_dir / s).is_file() for s in shards)
        checkpoint = open_checkpoint(model_dir)
        assert {checkpoint.dtype(n) for n in checkpoint.names} == {torch.bfloat16}
        assert ("lm_head.weight" in checkpoint) != tied
        config = AutoConfig.from_pretrained(model_dir)
        assert config.tie_word_embeddings == tied
        assert (model_dir / "generation_config.json").is_file()
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        assert len(tokenizer) == config.vocab_size
        text = "প্রশ্ন: 5 + 6 = 11。答案是 11. La respuesta es 11."
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text  # byte level: every text round-trips


def test_corpora_load_with_datasets_as_the_config_names_them(rehearsal_inputs):
    _, configs = rehearsal_inputs
    config = yaml.safe_load(configs["config.yaml"].read_text())
    corpora = {f"general_corpora.{k}": v for k, v in config["general_corpora"].items()}
    corpora |= {f"abilities.{k}.corpus": v["corpus"] for k, v in config["abilities"].items()}
    for key, corpus in corpora.items():
        assert source_form(corpus["source"], corpus.get("name")) == "directory"
        check_corpus(corpus, key)


def test_mgsm_exemplars_py_is_read_as_a_literal_never_run(tmp_path):
    ran = tmp_path / "ran"
    (tmp_path / "exemplars.py").write_text(
        f"open({str(ran)!r}, 'w')\n"
        "MGSM_EXEMPLARS = {'en': {'2': {'q': 'Question: b', 'a': 'B'},\n"
        "                         '10': {'q': 'Question: ' 'c', 'a': 'C'},\n"
        "                         '1': {'q': 'Question: a', 'a': 'A'}}}\n"
    )
    table = read_mgsm_exemplars(tmp_path / "exemplars.py")
    assert table == {
        "en": [
            {"q": "Question: a", "a": "A"},
            {"q": "Question: b", "a": "B"},
            {"q": "Question: c", "a": "C"},
        ]
    }
    assert not ran.exists()


def test_mgsm_repository_gives_the_shared_exemplars(rehearsal_inputs, tmp_path):
    out, _ = rehearsal_inputs
    repo = out / "inputs/datasets/juletxara/mgsm"
    langs = PAPER["evaluation"]["mgsm"]["languages"]
    questions = [str(tmp_path / f"mgsm_{lang}.tsv") for lang in langs]
    fetch_mgsm(str(repo), langs, questions, str(tmp_path / "ex.json"), key="evaluation.mgsm.hub")
    shared = json.loads((REPO / "../shared/data/mgsm/exemplars.json").read_text())
    expected = {lang: [{"q": e["q"], "a": e["a"]} for e in shared[lang]] for lang in langs}
    assert json.loads((tmp_path / "ex.json").read_text()) == expected


def test_hub_ids_go_through_huggingface_hub_as_local_stand_ins_do(
    rehearsal_inputs, tmp_path, monkeypatch
):
    """The hub branch of the downloads, its calls answered from the stand-ins: the same
    files come out as from the local directories."""
    import fnmatch

    import huggingface_hub

    out, _ = rehearsal_inputs
    hub = {
        "meta-llama/Meta-Llama-3-8B": out / "inputs/models/llama-3-tiny",
        "juletxara/mgsm": out / "inputs/datasets/juletxara/mgsm",
    }

    def snapshot_download(repo, *, local_dir, allow_patterns):
        for path in hub[repo].iterdir():
            if any(fnmatch.fnmatch(path.name, p) for p in allow_patterns):
                shutil.copy(path, local_dir)

    def hf_hub_download(repo, filename, repo_type):
        assert repo_type == "dataset"
        return str(hub[repo] / filename)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    fetch_model("meta-llama/Meta-Llama-3-8B", tmp_path / "backbone")
    local = sorted(p.name for p in hub["meta-llama/Meta-Llama-3-8B"].iterdir())
    assert sorted(p.name for p in (tmp_path / "backbone").iterdir()) == local
    langs = ["en", "te"]
    questions = [str(tmp_path / f"mgsm_{lang}.tsv") for lang in langs]
    fetch_mgsm("juletxara/mgsm", langs, questions, str(tmp_path / "ex.json"), "evaluation.mgsm.hub")
    for lang, path in zip(langs, questions):
        assert open(path).read() == (hub["juletxara/mgsm"] / f"mgsm_{lang}.tsv").read_text()


# ---- bad input: one message naming the config key and the file, nothing written ---------


def test_unreachable_hub_ids_stop_naming_the_config_key(offline, tmp_path):
    with pytest.raises(HubError, match=r"^backbone: could not download 'maec-tests/nothing'"):
        fetch_model("maec-tests/nothing", tmp_path / "backbone")
    with pytest.raises(CorpusError, match=r"^general_corpora\.es\.source: cannot load 'maec-t"):
        check_corpus({"source": "maec-tests/nothing", "name": "es"}, "general_corpora.es")
    with pytest.raises(HubError, match=r"^evaluation\.mgsm\.hub: could not download exemplars"):
        fetch_mgsm(
            "maec-tests/nothing", ["es"], [str(tmp_path / "q.tsv")], "x", "evaluation.mgsm.hub"
        )
    assert listing(tmp_path) == []


def test_a_corpus_without_the_text_column_stops_naming_key_and_source(rehearsal_inputs):
    out, _ = rehearsal_inputs
    source = str(out / "inputs/datasets/uonlp/CulturaX")
    corpus = {"source": source, "name": "es", "text_field": "content"}
    with pytest.raises(CorpusError) as error:
        check_corpus(corpus, "general_corpora.es")
    assert str(error.value) == (
        f"general_corpora.es.text_field: 'content' is not a field of {source} "
        "(its fields: text, timestamp, url, source)"
    )


def _copy_backbone(rehearsal_inputs, tmp_path):
    out, _ = rehearsal_inputs
    return shutil.copytree(out / "inputs/models/llama-3-tiny", tmp_path / "llama")


def test_a_backbone_index_naming_a_missing_shard_stops_naming_it(rehearsal_inputs, tmp_path):
    backbone = _copy_backbone(rehearsal_inputs, tmp_path)
    (backbone / "model-00002-of-00003.safetensors").unlink()
    with pytest.raises(HubError, match=r"^backbone: .*model-00002-of-00003\.safetensors"):
        fetch_model(str(backbone), tmp_path / "results/backbone")
    assert listing(tmp_path / "results") == []


def test_a_tokenizer_larger_than_the_vocabulary_stops_naming_it(rehearsal_inputs, tmp_path):
    from transformers import AutoTokenizer

    backbone = _copy_backbone(rehearsal_inputs, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    tokenizer.add_tokens(["<extra_0>", "<extra_1>"])
    tokenizer.save_pretrained(backbone)
    with pytest.raises(HubError, match=r"^backbone: .*tokenizer\.json\) has 4098 tokens.*4096"):
        fetch_model(str(backbone), tmp_path / "results/backbone")
    assert listing(tmp_path / "results") == []
