"""The demo world with the sparse optimizer state and sparse deltas: from the dense run's
masks on, the masked CPT runs, deltas, similarity and merge run again and give the dense
run's merged models bit for bit; the ability pack merges to the same model."""

import copy
import json
import shutil

import pytest
import torch
from helpers.workflow import planned_jobs, snakemake, write_config
from safetensors.torch import load_file

from maec.combination.merge import write_merge
from maec.combination.similarity import read_selected
from maec.io.reader import open_checkpoint

# What the masked CPT runs start from: the dense run's world, backbone, tokens and masks.
UPSTREAM = ("world", "tokenizer", "backbone_init", "backbone", "tokens", "importance", "masks")


def bits(t):
    return t.view({2: torch.int16, 4: torch.int32}[t.element_size()])


@pytest.fixture(scope="module")
def sparse_run(demo_run, demo_config, tmp_path_factory):
    dense_dir, _ = demo_run
    workdir = tmp_path_factory.mktemp("sparse")
    for name in UPSTREAM:
        shutil.copytree(dense_dir / "results" / name, workdir / "results" / name)
    # the upstream jobs' records, so that they count as done
    shutil.copytree(dense_dir / ".snakemake" / "metadata", workdir / ".snakemake" / "metadata")
    config = copy.deepcopy(demo_config)
    config["training"]["optimizer_state"] = "sparse"
    config["deltas"]["format"] = "sparse"
    configfile = write_config(config, workdir)
    abilities = list(config["abilities"])
    targets = [f"results/merged/{a}.safetensors" for a in abilities]
    targets += [f"results/packs/{a}.safetensors" for a in abilities]
    plan = planned_jobs(workdir, configfile, *targets)
    snakemake(workdir, configfile, *targets, "--cores", "2")
    return workdir, dense_dir, abilities, plan


def test_only_the_masked_runs_and_later_steps_run_again(sparse_run):
    _, _, abilities, plan = sparse_run
    assert set(plan) == {
        "masked_cpt",
        "ability_weights",
        "language_weights",
        "r_lang",
        "tensor_similarity",
        "merge",
        "ability_pack",
    }
    assert plan["merge"] == plan["ability_pack"] == len(abilities)


def test_sparse_demo_gives_the_dense_merged_models(sparse_run):
    workdir, dense_dir, abilities, _ = sparse_run
    run = json.loads((workdir / "results/cpt/general_en/training.json").read_text())
    assert run["args"]["optimizer_state"] == "sparse"
    assert (
        open_checkpoint(workdir / "results/deltas/r_lang.safetensors").metadata["delta_format"]
        == "sparse"
    )
    for ability in abilities:
        assert (workdir / f"results/similarity/{ability}.tsv").read_text() == (
            dense_dir / f"results/similarity/{ability}.tsv"
        ).read_text()
        dense = load_file(dense_dir / f"results/merged/{ability}.safetensors")
        sparse = load_file(workdir / f"results/merged/{ability}.safetensors")
        assert dense.keys() == sparse.keys()
        for name in dense:
            assert torch.equal(bits(sparse[name]), bits(dense[name])), (ability, name)


def test_the_ability_pack_merges_to_the_same_model(sparse_run, demo_config):
    workdir, dense_dir, abilities, _ = sparse_run
    ability = abilities[0]
    pack = open_checkpoint(workdir / f"results/packs/{ability}.safetensors")
    assert pack.metadata["kind"] == "ability_pack" and pack.metadata["delta_format"] == "sparse"
    assert json.loads(pack.metadata["k1"]) == demo_config["key_neurons"]["k1"]
    densities = json.loads(pack.metadata["mask_densities"])
    assert set(densities) == {"ability", "reference"} and 0 < densities["reference"] < 1
    out = workdir / "from_pack.safetensors"
    write_merge(
        dense_dir / "results/backbone",
        pack.path,
        dense_dir / "results/deltas/r_lang.safetensors",  # the dense run's R_Lang
        read_selected(workdir / f"results/similarity/{ability}.tsv"),
        out,
        gamma=demo_config["merge"]["gamma"],
        eta=demo_config["merge"]["eta"],
    )
    expected = load_file(dense_dir / f"results/merged/{ability}.safetensors")
    got = load_file(out)
    for name in expected:
        assert torch.equal(bits(got[name]), bits(expected[name])), name
