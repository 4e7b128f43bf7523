"""The paper's configuration rehearsed end to end on a CPU (config/rehearsal.yaml): every
rule of its branch of the DAG runs on inputs in the hub's own formats, training is launched
as on the cluster (torchrun, two processes), and the tied-embedding backbone goes through
masks, masked CPT, deltas and the merge. One run, shared by every test here
(`rehearsal_run` in conftest.py); `pytest -m rehearsal` runs them alone."""

import json
import re

import pandas as pd
import pytest
import torch
from helpers.checkpoints import load_checkpoint
from helpers.workflow import load_config, planned_jobs, write_config

from maec.keyneurons.masks import read_mask

pytestmark = pytest.mark.rehearsal

FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")
DEMO_WORLD_RULES = {"generate_world", "train_tokenizer", "init_backbone", "pretrain_backbone"}
TABLE2_ROWS = [
    "Mistral 7B",
    "LLaMA-2 7B",
    "Backbone",
    "F-CPT_{L&A}",
    "L-CPT_{L&A}",
    "F-CPT_A",
    "F-CPT_L",
    "L-CPT_L",
    "F-CPT_L & DA",
    "L-CPT_L & DA",
    "F-CPT_{L&T}",  # on the translation rule's output
    "F-CPT_T",
    "F-TV",
    "L-TV",
    "MAEC",
]


def executed_rules(output: str) -> set[str]:
    return set(FINISHED.findall(output))


def test_every_rule_of_the_rehearsal_ran_and_no_demo_world_rule(
    rehearsal_run, rehearsal_inputs, tmp_path
):
    """Snakemake's own record of the run: each job it finished, by rule."""
    _, output, _ = rehearsal_run["paper"]
    _, configs = rehearsal_inputs
    planned = planned_jobs(tmp_path, configs["config.yaml"], "experiments")
    assert executed_rules(output) == set(planned)
    assert not executed_rules(output) & DEMO_WORLD_RULES


def test_every_rule_that_the_paper_config_plans_ran_in_the_rehearsal(rehearsal_run, tmp_path):
    _, output, _ = rehearsal_run["paper"]
    configfile = write_config(load_config("config.yaml"), tmp_path)
    paper = set(planned_jobs(tmp_path, configfile, "experiments"))
    missing = paper - executed_rules(output)
    assert not missing, f"planned on config/config.yaml but never run: {sorted(missing)}"


def test_table2_has_every_row_the_lora_rows_scored(rehearsal_run):
    workdir, _, _ = rehearsal_run["paper"]
    table2 = pd.read_csv(workdir / "results/tables/table2.csv", index_col=0)
    assert list(table2.index) == TABLE2_ROWS
    averages = table2.filter(like="Avg")
    assert not averages.empty
    for row in ("L-CPT_{L&A}", "L-CPT_L", "L-TV"):
        assert averages.loc[row].notna().all(), table2.loc[row]


def _summary(workdir, run_dir):
    return json.loads((workdir / run_dir / "training.json").read_text())


@pytest.mark.parametrize(
    "run, run_dir, stage",
    [
        ("paper", "results/importance/science_en", 2),
        ("paper", "results/cpt/general_bn+general_en", 2),
        ("paper", "results/baselines/full/math_en", 2),
        ("tied", "results/cpt/science_en+general_en", 3),
    ],
)
def test_full_parameter_runs_trained_on_two_processes_under_deepspeed(
    rehearsal_run, run, run_dir, stage
):
    workdir, _, _ = rehearsal_run[run]
    summary = _summary(workdir, run_dir)
    assert summary["args"]["world_size"] == 2 and summary["device"] == "cpu"
    assert summary["args"]["precision"] == "bf16"
    assert summary["args"]["deepspeed"]["zero_optimization"]["stage"] == stage
    log = workdir / "logs" / f"{run_dir.removeprefix('results/')}.log"
    assert "torch.distributed.run --standalone --nproc_per_node=2" in log.read_text()


def test_lora_baselines_trained_on_two_processes_with_ddp(rehearsal_run):
    workdir, _, _ = rehearsal_run["paper"]
    runs = sorted((workdir / "results/baselines/lora").iterdir())
    assert len(runs) == 5  # L-CPT_{L&A} and L-CPT_A per ability, L-CPT_L shared
    for run in runs:
        summary = _summary(workdir, run.relative_to(workdir))
        assert summary["args"]["world_size"] == 2 and summary["args"]["deepspeed"] is None
        assert (
            summary["args"]["lora"]["r"]
            == load_config("config.yaml")["experiments"]["baselines"]["lora"]["r"]
        )


@pytest.mark.parametrize(
    "run, ability", [("paper", "math"), ("paper", "science"), ("tied", "science")]
)
def test_merged_model_loads_and_generates(rehearsal_run, run, ability):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    workdir, _, _ = rehearsal_run[run]
    model_dir = workdir / f"results/merged/{ability}.hf"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompt = tokenizer("Pregunta: ¿Cuántas pelotas tiene Roger?", return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=6, min_new_tokens=6, do_sample=False)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 6
    assert isinstance(tokenizer.decode(out[0]), str)
    if run == "tied":
        assert model.config.tie_word_embeddings
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
        assert "lm_head.weight" not in load_checkpoint(
            workdir / f"results/merged/{ability}.safetensors"
        )


def test_tied_masked_cpt_keeps_every_entry_outside_the_mask(rehearsal_run):
    """The tied embedding is one tensor, trained through both of its uses: inside the mask
    it moves, outside it stays bit-identical to the backbone, as every other tensor."""
    workdir, _, _ = rehearsal_run["tied"]
    before = load_checkpoint(workdir / "results/backbone")
    after = load_checkpoint(workdir / "results/cpt/general_te+general_en")
    mask = read_mask(workdir / "results/masks/union/general_te+general_en.safetensors")
    assert set(after) == set(before) and "lm_head.weight" not in after
    moved = 0
    for name, tensor in before.items():
        inside = mask.get(name, torch.zeros(tensor.shape, dtype=torch.bool))
        assert torch.equal(
            after[name].view(torch.int16)[~inside], tensor.view(torch.int16)[~inside]
        )
        moved += int((after[name] != tensor).sum())
    embedding = "model.embed_tokens.weight"
    assert mask[embedding].any() and not torch.equal(after[embedding], before[embedding])
    assert moved > 0


def test_benchmarks_came_through_the_hub_loaders(rehearsal_run):
    """MGSM's exemplars were read from the repository's exemplars.py, not a loading script."""
    workdir, _, _ = rehearsal_run["paper"]
    exemplars = json.loads((workdir / "resources/mgsm/exemplars.json").read_text())
    assert sorted(exemplars) == sorted(
        load_config("config.yaml")["evaluation"]["mgsm"]["languages"]
    )
    assert all(len(shots) == 8 for shots in exemplars.values())
    for lang in ("es", "bn", "te"):
        for split in ("dev", "val", "test"):
            assert json.loads((workdir / f"resources/m_mmlu/{lang}_{split}.json").read_text())
