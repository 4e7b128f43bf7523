"""Provenance: the lineage followed through the records on disk, the hashes of every file on
it, and their verification."""

import hashlib
import json
import os
import subprocess

import pytest
import torch
from safetensors.torch import save_file

from maec.__main__ import main as maec_main
from maec.io import lineage
from maec.io.lineage import (
    content_files,
    describe,
    environment,
    read_provenance,
    recorded_inputs,
    sha256_file,
    trace,
    verify,
    write_provenance,
    write_record,
)


def _json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _chain(root, k1=0.05):
    """A merged model's path as the workflow leaves it: tokens -> a training run -> a mask
    (header and summary) -> a masked run -> a delta -> merged weights -> a model directory."""
    (root / "results/tokens").mkdir(parents=True)
    (root / "results/tokens/math_en.npy").write_bytes(b"tokens")
    _json(root / "results/tokens/math_en.json", {"source": "results/world/math_en.jsonl"})
    (root / "results/world").mkdir()
    (root / "results/world/math_en.jsonl").write_text("{}")
    _json(
        root / "results/backbone/training.json",
        {"corpora": [["results/tokens/math_en", 1.0]], "log": [1, 2]},
    )
    (root / "results/backbone/model.safetensors").write_bytes(b"backbone weights")
    (root / "results/masks").mkdir()
    mask = torch.rand(4, generator=torch.Generator().manual_seed(0)) < k1 * 10
    save_file(
        {"w": mask},
        root / "results/masks/math_en.safetensors",
        metadata={"kind": "mask", "k1": str(k1)},
    )
    _json(
        root / "results/masks/math_en.json",
        {"k1": k1, "backbone": "results/backbone", "tensors": {"results/not/followed": 1}},
    )
    _json(
        root / "results/cpt/math_en/training.json",
        {"backbone": "results/backbone", "mask": "results/masks/math_en.safetensors", "tokens": 3},
    )
    (root / "results/cpt/math_en/model.safetensors").write_bytes(b"run weights " + str(k1).encode())
    (root / "results/deltas").mkdir()
    save_file(
        {"w": torch.ones(2)},
        root / "results/deltas/math.safetensors",
        metadata={
            "kind": "ability",
            "alpha": "0.8",
            "ability_model": "results/cpt/math_en",
            "model": "abc123",
        },
    )
    (root / "results/merged").mkdir()
    save_file(
        {"w": torch.ones(2)},
        root / "results/merged/math.safetensors",
        metadata={"kind": "merge", "r_a": "results/deltas/math.safetensors"},
    )
    model = root / "results/merged/math.hf"
    model.mkdir()
    os.link(root / "results/merged/math.safetensors", model / "model.safetensors")
    _json(
        model / "merge.json",
        {
            "weights": "results/merged/math.safetensors",
            "model_dir": "results/backbone",
            "gamma": "0.2",
        },
    )
    (model / ".snakemake_timestamp").write_text("")
    return "results/merged/math.hf"


def test_sha256_is_hashlibs():
    assert sha256_file(__file__) == hashlib.sha256(open(__file__, "rb").read()).hexdigest()


def test_trace_follows_every_recorded_path_back_to_the_token_files(tmp_path):
    model = _chain(tmp_path)
    traced = trace(model, tmp_path)
    assert list(traced) == [
        model,
        "results/merged/math.safetensors",
        "results/backbone",
        "results/deltas/math.safetensors",
        "results/tokens/math_en.json",
        "results/tokens/math_en.npy",
        "results/cpt/math_en",
        "results/world/math_en.jsonl",
        "results/masks/math_en.safetensors",
    ]
    assert traced["results/backbone"] == {"corpora": [["results/tokens/math_en", 1.0]]}
    assert traced["results/deltas/math.safetensors"]["alpha"] == 0.8  # JSON values decoded
    mask = traced["results/masks/math_en.safetensors"]
    assert mask["k1"] == 0.05 and mask["summary"]["k1"] == 0.05
    assert traced["results/tokens/math_en.npy"] == {
        "summary": {"source": "results/world/math_en.jsonl"}
    }
    assert (
        traced["results/tokens/math_en.json"] is None
        and traced["results/world/math_en.jsonl"] is None
    )


def test_recorded_inputs_are_existing_paths_in_the_working_directory_only(tmp_path):
    root = tmp_path / "work"
    (root / "results").mkdir(parents=True)
    (root / "results/a").write_text("")
    (root / "results/t.npy").write_text("")
    corpus = tmp_path / "corpus.parquet"  # a local corpus the config names: not followed
    corpus.write_text("")
    record = {
        "model": "abc123",
        "format": "pt",
        "x": "results/a",
        "y": "results/gone",
        "z": ["results/a"],
        "t": "results/t",
        "source": str(corpus),
        "up": "../corpus.parquet",
    }
    assert recorded_inputs(record, root) == ["results/a", "results/t.npy"]


def test_a_directory_content_leaves_out_bookkeeping_and_its_own_description(tmp_path):
    for name in [
        "model.safetensors",
        "README.md",
        "provenance.json",
        ".snakemake_timestamp",
        "fp32/x",
    ]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    assert [p.relative_to(tmp_path).as_posix() for p in content_files(tmp_path)] == [
        "fp32/x",
        "model.safetensors",
    ]


def test_a_hard_linked_file_is_read_once(tmp_path, monkeypatch):
    model = _chain(tmp_path)
    calls = []
    real = lineage.sha256_file
    monkeypatch.setattr(lineage, "sha256_file", lambda path: calls.append(str(path)) or real(path))
    provenance = describe(model, root=tmp_path)
    weights = [c for c in calls if "results/merged/" in c and c.endswith(".safetensors")]
    assert len(weights) == 1
    linked = provenance["files"]["results/merged/math.hf/model.safetensors"]
    assert linked == sha256_file(tmp_path / "results/merged/math.safetensors")


def test_provenance_records_settings_lineage_hashes_and_environment(tmp_path):
    model = _chain(tmp_path)
    provenance = describe(model, root=tmp_path, settings={"key_neurons": {"k1": 0.05}})
    assert provenance["settings"] == {"key_neurons": {"k1": 0.05}}
    assert sorted(provenance["files"]) == [
        "results/merged/math.hf/merge.json",
        "results/merged/math.hf/model.safetensors",
    ]
    steps = {step["path"]: step for step in provenance["lineage"]}
    assert steps["results/tokens/math_en.npy"]["files"] == {
        "results/tokens/math_en.npy": hashlib.sha256(b"tokens").hexdigest()
    }
    assert set(provenance["environment"]["versions"]) >= {
        "torch",
        "transformers",
        "deepspeed",
        "peft",
        "maec",
    }
    assert json.loads(json.dumps(provenance)) == provenance  # all of it is JSON


def _beside_deltas(path):
    """As `maec.workflow.storage.records_of_deleted`: the deltas are deleted after use."""
    return f"{path}.lineage.json" if path.startswith("results/deltas/") else None


def test_a_deleted_intermediate_is_traced_through_its_record_whether_there_or_not(tmp_path):
    model = _chain(tmp_path)
    delta = "results/deltas/math.safetensors"
    write_record(tmp_path / delta, tmp_path / f"{delta}.lineage.json")
    kept = trace(model, tmp_path)
    there = describe(model, root=tmp_path, beside=_beside_deltas)
    (tmp_path / delta).unlink()
    gone = describe(model, root=tmp_path, beside=_beside_deltas)
    assert trace(model, tmp_path, _beside_deltas) == kept  # the run and its mask still reached
    assert there["lineage"] == gone["lineage"]
    step = next(s for s in gone["lineage"] if s["path"] == delta)
    assert step["deleted_after_use"] and step["record"]["alpha"] == 0.8
    record_hash = hashlib.sha256((tmp_path / f"{delta}.lineage.json").read_bytes()).hexdigest()
    assert step["files"] == {f"{delta}.lineage.json": record_hash}  # its record, not its bytes
    assert verify(gone, tmp_path).missing == []


def test_a_deleted_intermediate_without_its_record_is_named(tmp_path):
    model = _chain(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"math.safetensors.lineage.json: no record"):
        trace(model, tmp_path, _beside_deltas)


def test_another_k1_is_recorded_and_changes_the_hashes(tmp_path):
    first = describe(_chain(tmp_path / "a", k1=0.05), root=tmp_path / "a")
    second = describe(_chain(tmp_path / "b", k1=0.1), root=tmp_path / "b")

    def step(provenance, path):
        return next(s for s in provenance["lineage"] if s["path"] == path)

    mask = "results/masks/math_en.safetensors"
    assert step(first, mask)["record"]["k1"] == 0.05 and step(second, mask)["record"]["k1"] == 0.1
    assert step(first, mask)["files"] != step(second, mask)["files"]
    run = "results/cpt/math_en"
    assert step(first, run)["files"] != step(second, run)["files"]


def test_verify_names_a_changed_byte_and_a_gone_file(tmp_path):
    model = _chain(tmp_path)
    provenance = describe(model, root=tmp_path)
    assert verify(provenance) == lineage.Check(
        changed=[], missing=[], checked=verify(provenance).checked
    )
    delta = tmp_path / "results/deltas/math.safetensors"
    data = bytearray(delta.read_bytes())
    data[-1] ^= 1
    delta.write_bytes(bytes(data))
    (tmp_path / "results/tokens/math_en.npy").unlink()
    found = verify(provenance)
    assert found.changed == ["results/deltas/math.safetensors"]
    assert found.missing == ["results/tokens/math_en.npy"]


def test_inspect_prints_the_provenance_and_verify_fails_on_a_change(tmp_path, monkeypatch, capsys):
    model = _chain(tmp_path)
    monkeypatch.chdir(tmp_path)
    write_provenance(model, describe(model, settings={"merge": {"gamma": 0.2}}))
    assert read_provenance(model)["output"] == model
    assert maec_main(["inspect", model, "--verify"]) == 0
    out = capsys.readouterr().out
    assert "merge.gamma = 0.2" in out and "results/deltas/math.safetensors  [ability]" in out
    assert "0 changed" in out
    (tmp_path / "results/tokens/math_en.npy").write_bytes(b"tokenz")
    assert maec_main(["inspect", model, "--verify"]) == 1
    assert "CHANGED: results/tokens/math_en.npy" in capsys.readouterr().out


def test_inspect_traces_a_delta_without_provenance_and_refuses_to_verify_it(
    tmp_path, monkeypatch, capsys
):
    _chain(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert maec_main(["inspect", "results/deltas/math.safetensors"]) == 0
    out = capsys.readouterr().out
    assert "results/cpt/math_en" in out and "results/tokens/math_en.npy" in out
    assert maec_main(["inspect", "results/deltas/math.safetensors", "--verify"]) == 2
    assert "no provenance.json" in capsys.readouterr().err


def test_environment_names_the_commit_and_whether_tracked_files_changed(tmp_path):
    assert environment(tmp_path)["workflow"] == {"commit": None, "dirty": None}
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "f").write_text("a")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "f"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    (tmp_path / "results").write_text("untracked")
    assert environment(tmp_path)["workflow"] == {"commit": head, "dirty": False}
    (tmp_path / "f").write_text("b")
    assert environment(tmp_path)["workflow"] == {"commit": head, "dirty": True}
    assert environment(None)["workflow"] == {"commit": None, "dirty": None}


@pytest.mark.parametrize("name", ["README.md", "provenance.json"])
def test_a_models_card_and_provenance_never_go_into_a_new_directory(name):
    from maec.io.hf_dir import is_model_file

    assert not is_model_file(name)
    assert is_model_file("LICENSE")
