"""Faults and bad inputs that once got through: each stops early, with a message naming what
is wrong (file, key, tensor or value), and leaves nothing half-written."""

import json

import pytest
import torch
from helpers.checkpoints import listing, write_checkpoint
from helpers.tiny import llama, save_tiny_model, save_word_tokenizer
from helpers.workflow import load_config

import maec.evaluation.mgsm as mgsm
import maec.evaluation.mmlu as mmlu
from maec.combination.merge import write_merge
from maec.data.hub import fetch_model
from maec.data.tokens import pack_corpus
from maec.deltas.language import write_r_lang
from maec.evaluation.loaders import BenchmarkFormatError, load_mgsm_questions, load_multiple_choice
from maec.io.format import CheckpointError
from maec.io.hf_dir import copy_model_files, write_hf_directory
from maec.keyneurons.masks import build_key_neuron_mask
from maec.training import setup as training_setup
from maec.training import train
from maec.workflow.naming import is_ability_name, is_language_code

pytestmark = pytest.mark.reliability

torch.set_num_threads(1)


# ---- language codes and R_Lang (defect 1) -------------------------------------------------


@pytest.mark.parametrize("code", ["en", "zh", "es419", "yue", "zhhant"])
def test_language_codes_that_every_wildcard_builds(code):
    assert is_language_code(code)


@pytest.mark.parametrize("code", ["pt-BR", "en_US", "../x", "es+", "e", "EN", "9ab", "abcdefghi"])
def test_language_codes_that_no_wildcard_could_build_are_refused(code):
    assert not is_language_code(code)


@pytest.mark.parametrize("name", ["general", "Math", "math_2", "2math", "math-x", ""])
def test_ability_names_that_would_clash_or_not_build_are_refused(name):
    assert not is_ability_name(name)


def _r_lang(tmp_path, mu):
    deltas = {
        lang: write_checkpoint(tmp_path / f"{lang}.safetensors", {"t": torch.full((2,), i + 1.0)})
        for i, lang in enumerate(["es", "zh"])
    }
    write_r_lang(deltas, mu, tmp_path / "r_lang.safetensors")
    return tmp_path / "r_lang.safetensors"


@pytest.mark.parametrize(
    "wanted",
    [
        {"es": 1.5, "zh": 1.0, "bn": 1.0},  # a language added to the config
        {"es": 1.0, "zh": 1.0},  # μ changed
        {"es": 1.5},  # a language removed
    ],
)
def test_merge_refuses_an_r_lang_of_other_languages_or_mu(tmp_path, wanted):
    r_lang = _r_lang(tmp_path, {"es": 1.5})
    base = write_checkpoint(tmp_path / "base.safetensors", {"t": torch.zeros(2)})
    r_a = write_checkpoint(tmp_path / "ra.safetensors", {"t": torch.ones(2)})
    out = tmp_path / "out" / "merged.safetensors"
    made = r"R_Lang was made for the languages es, zh with μ \{'es': 1.5, 'zh': 1.0\}"
    with pytest.raises(CheckpointError, match=rf"r_lang.safetensors: {made}, but the config"):
        write_merge(base, r_a, r_lang, {"t"}, out, gamma=0.5, eta=1.0, r_lang_mu=wanted)
    assert not out.parent.exists()
    write_merge(base, r_a, r_lang, {"t"}, out, gamma=0.5, eta=1.0, r_lang_mu={"zh": 1, "es": 1.5})
    assert out.exists()


def test_merge_refuses_a_delta_that_is_no_r_lang(tmp_path):
    base = write_checkpoint(tmp_path / "base.safetensors", {"t": torch.zeros(2)})
    r_a = write_checkpoint(tmp_path / "ra.safetensors", {"t": torch.ones(2)})
    with pytest.raises(CheckpointError, match=r"ra.safetensors: not an R_Lang"):
        write_merge(base, r_a, r_a, {"t"}, tmp_path / "m.safetensors", gamma=1, eta=1, r_lang_mu={})


# ---- benchmark files checked before the model loads (defect 2) ----------------------------


@pytest.fixture
def model_loads(monkeypatch):
    """The model directories that evaluation loaded (it loads none in these tests)."""
    loaded = []

    def load_model(model_dir, device):
        loaded.append(model_dir)
        raise AssertionError("the model was loaded before every file was checked")

    monkeypatch.setattr(mgsm, "load_model", load_model)
    monkeypatch.setattr(mmlu, "load_model", load_model)
    return loaded


def _exemplars(path, languages):
    shots = {"en": {"q": "Question: 1 + 1?", "a": "Step-by-Step Answer: 2. The answer is 2."}}
    shots["es"] = {"q": "Pregunta: 1 + 1?", "a": "Respuesta paso a paso: 2. La respuesta es 2."}
    path.write_text(json.dumps({lang: [shots[lang]] for lang in languages}), encoding="utf-8")
    return path


@pytest.mark.parametrize("broken", ["questions", "exemplars"])
def test_mgsm_checks_every_language_before_loading_the_model(tmp_path, model_loads, broken):
    questions = {lang: tmp_path / f"mgsm_{lang}.tsv" for lang in ("en", "es")}
    questions["en"].write_text("Two and two?\t4\n", encoding="utf-8")
    questions["es"].write_text(
        "¿Dos y dos?\t4\n" if broken == "exemplars" else "¿Dos y dos?\tcuatro\n", encoding="utf-8"
    )
    exemplars = _exemplars(tmp_path / "ex.json", ["en"] if broken == "exemplars" else ["en", "es"])
    message = {
        "questions": r"mgsm_es.tsv:1: .*cuatro",
        "exemplars": r"ex.json: no exemplars for language 'es'",
    }[broken]
    out = tmp_path / "out"
    with pytest.raises(BenchmarkFormatError, match=message):
        mgsm.evaluate_mgsm_languages(
            tmp_path / "model",
            ["en", "es"],
            [questions["en"], questions["es"]],
            exemplars,
            [out / "en.jsonl", out / "es.jsonl"],
            [out / "en.json", out / "es.json"],
            n_shots=1,
        )
    assert model_loads == [] and not out.exists()


def _okapi(path, items):
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def test_mmlu_checks_every_language_before_loading_the_model(tmp_path, model_loads):
    item = dict(
        instruction="Which is a gas?",
        option_a="helium",
        option_b="iron",
        option_c="gold",
        option_d="salt",
        answer="A",
        id="college_chemistry/test/0",
    )
    good = _okapi(tmp_path / "en.json", [item])
    bad = _okapi(tmp_path / "es.json", [dict(item, answer="E")])
    out = tmp_path / "out"
    with pytest.raises(BenchmarkFormatError, match=r"es.json: item 0 .*answer key 'E'"):
        mmlu.evaluate_mmlu_languages(
            tmp_path / "model",
            ["en", "es"],
            [good, bad],
            [good, good],
            [out / "en.jsonl", out / "es.jsonl"],
            [out / "en.json", out / "es.json"],
            n_shots=1,
        )
    assert model_loads == [] and not out.exists()


# ---- loader messages (defect 8) -----------------------------------------------------------


def test_a_tsv_that_is_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "mgsm_bn.tsv"
    path.write_bytes(b"Two?\t2\n" + "¿Tres?\t3\n".encode("latin-1"))
    with pytest.raises(BenchmarkFormatError, match=r"mgsm_bn.tsv:2: not UTF-8 text"):
        load_mgsm_questions(path)


def test_okapi_json_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "es_test.json"
    path.write_bytes(b'[{"instruction": "\xe9"}]')
    with pytest.raises(BenchmarkFormatError, match=r"es_test.json:1: not UTF-8 text"):
        load_multiple_choice(path, "test")


# Writes past 4 KiB fail with EFBIG, as they do on a full disk (ENOSPC). The limit
# (RLIMIT_FSIZE) is set in a child process only: it applies to every file a process writes,
# and the test runner's own output may be a file.


# ---- training: positions, k1, cadence (defects 3, 5, 6) -----------------------------------


@pytest.fixture
def tiny_training(tmp_path):
    llama(64, max_position_embeddings=16).save_pretrained(tmp_path / "backbone")
    save_word_tokenizer(tmp_path / "backbone")
    corpus = tmp_path / "cats.jsonl"
    corpus.write_text(json.dumps({"text": "the cat sat on a mat " * 20}) + "\n")
    return tmp_path, corpus


def test_blocks_longer_than_the_model_positions_are_refused_before_training(tiny_training):
    tmp_path, corpus = tiny_training
    pack_corpus(corpus, tmp_path / "backbone", tmp_path / "tokens", block_size=32)
    with pytest.raises(
        ValueError, match=r"block_size 32, but the backbone .* has max_position_embeddings 16"
    ):
        train(
            tmp_path / "backbone",
            [(str(tmp_path / "tokens"), 1.0)],
            tmp_path / "out",
            lr=1e-3,
            total_tokens=64,
            batch_tokens=64,
            micro_batch_size=2,
            device="cpu",
        )
    assert not (tmp_path / "out").exists()


def _identity(tiny_training, **cadence):
    tmp_path, corpus = tiny_training
    if not (tmp_path / "tokens.npy").exists():
        pack_corpus(corpus, tmp_path / "backbone", tmp_path / "tokens", block_size=8)
    opts = training_setup.Options(
        lr=1e-3,
        total_tokens=256,
        batch_tokens=64,
        seed=0,
        warmup_steps=0,
        lr_schedule="constant",
        weight_decay=0.0,
        max_grad_norm=1.0,
        precision="fp32",
        deepspeed_config=None,
        lora=None,
        optimizer_state="dense",
        gradient_checkpointing=False,
        **cadence,
    )
    corpora = [(str(tmp_path / "tokens"), 1.0)]
    run = training_setup.validate(
        opts, tmp_path / "backbone", corpora, tmp_path / "out", tmp_path / "resume", None, "cpu"
    )
    training_setup.identify(opts, run, None)
    return run.identity


def test_a_run_resumed_with_another_cadence_is_the_same_run(tiny_training):
    first = _identity(tiny_training, micro_batch_size=8, save_every_steps=2, log_every_steps=1)
    other = _identity(tiny_training, micro_batch_size=2, save_every_steps=5, log_every_steps=3)
    assert first == other


@pytest.mark.parametrize("scope", ["global", "tensor"])
def test_a_k1_that_keeps_no_entry_is_refused_at_the_mask(tmp_path, scope):
    base = write_checkpoint(tmp_path / "base.safetensors", {"a": torch.zeros(10, 10)})
    tuned = write_checkpoint(tmp_path / "tuned.safetensors", {"a": torch.ones(10, 10)})
    out = tmp_path / "masks" / "general_en.safetensors"
    with pytest.raises(
        ValueError,
        match=r"base.safetensors: k1=0.001 keeps no entry .* smallest k1 that keeps one is 0.005",
    ):
        build_key_neuron_mask(base, tuned, out, k1=0.001, lr=1.0, scope=scope)
    assert not out.parent.exists()


# ---- the backbone and the files beside a model (defects 7, 9) -----------------------------


@pytest.mark.parametrize("source", ["/nonexistent/llama3", "./models/llama3", "models/a/b"])
def test_a_missing_local_backbone_is_named_as_such(tmp_path, source):
    with pytest.raises(FileNotFoundError, match=r"the local model directory .* does not exist"):
        fetch_model(source, tmp_path / "backbone")
    assert not (tmp_path / "backbone").exists()


def test_a_model_copy_takes_no_record_or_bookkeeping_of_its_source(tmp_path):
    save_tiny_model(tmp_path / "trained")
    for name in ("training.json", "merge.json", ".snakemake_timestamp"):
        (tmp_path / "trained" / name).write_text("{}")
    (tmp_path / "copy").mkdir()
    copy_model_files(tmp_path / "trained", tmp_path / "copy")
    copied = set(listing(tmp_path / "copy"))
    assert "config.json" in copied and "tokenizer.json" in copied
    assert not copied & {"training.json", "merge.json", ".snakemake_timestamp"}


def test_a_merged_model_directory_records_the_merge(tmp_path):
    save_tiny_model(tmp_path / "backbone")
    (tmp_path / "backbone" / "training.json").write_text('{"the backbone": "pretraining"}')
    weights = tmp_path / "merged.safetensors"
    write_checkpoint(
        weights,
        {"t": torch.zeros(2)},
        metadata={"kind": "merge", "gamma": "0.2", "r_lang": "results/deltas/r_lang.safetensors"},
    )
    write_hf_directory(weights, tmp_path / "backbone", tmp_path / "merged.hf")
    assert not (tmp_path / "merged.hf" / "training.json").exists()
    record = json.loads((tmp_path / "merged.hf" / "merge.json").read_text())
    assert record["weights"] == str(weights) and record["model_dir"] == str(tmp_path / "backbone")
    assert record["kind"] == "merge" and record["gamma"] == "0.2"
    assert record["r_lang"] == "results/deltas/r_lang.safetensors"


# ---- the workflow: config checks and plans ------------------------------------------------

PAPER = load_config("config.yaml")


# ---- on the session's complete demo run ---------------------------------------------------
