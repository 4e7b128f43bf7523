"""What a run keeps: the intermediates deleted after use, and what a kept model's lineage
reads in their place."""

import copy

import pytest
from helpers.configs import shipped_config

from maec.workflow import intermediates, targets
from maec.workflow.paths import TEMPLATES

PAPER = shipped_config("config.yaml")
DELETING = copy.deepcopy(PAPER) | {"keep_intermediates": False}


@pytest.mark.parametrize(
    "path, deleted",
    [
        ("results/importance/math_en", True),
        ("results/seed-1/importance/general_te", True),
        ("results/deltas/ability/math.safetensors", True),
        ("results/deltas-full/ability-revert/math.safetensors", True),
        ("results/deltas/language/bn.safetensors", True),
        ("results/deltas/r_lang.safetensors", True),
        ("results/deltas/r_lang-mu-0.5.safetensors", True),
        ("results/baselines/tv/full_math.safetensors", True),
        ("results/baselines/tv-ties/lora_math.hf", True),
        ("results/baselines/layer-swap/math.hf", True),
        ("results/importance/math_en/fp32_master", True),  # inside an intermediate
        # what is kept: token files, masks, every trained model, the merged models, packs
        ("results/tokens/math_en.npy", False),
        ("results/masks/math_en.safetensors", False),
        ("results/masks/union/math_en+general_en.safetensors", False),
        ("results/cpt/math_en+general_en", False),
        ("results/cpt/math_en+general_en/fp32_master", False),
        ("results/cpt-full/general_en", False),
        ("results/baselines/full/math_en", False),
        ("results/baselines/lora-da/math_en", False),
        ("results/merged/math.safetensors", False),
        ("results/merged/math+science.hf", False),
        ("results/packs/math.safetensors", False),
        ("results/importance/math_en.lineage.json", False),  # the record stays
        ("logs/importance/math_en.log", False),
    ],
)
def test_deleting_intermediates_deletes_them_and_keeps_the_rest(path, deleted):
    assert intermediates.deleted_after_use(DELETING, path) == deleted
    assert not intermediates.deleted_after_use(PAPER, path)  # kept by default


def test_every_intermediate_is_a_template_of_the_workflow():
    assert intermediates.INTERMEDIATES <= set(TEMPLATES)


def test_a_kept_models_lineage_reads_the_record_beside_a_deleted_intermediate():
    beside = intermediates.records_of_deleted(intermediates.deleted_templates(DELETING))
    assert beside("results/importance/math_en") == "results/importance/math_en.lineage.json"
    assert beside("results/importance/math_en/fp32_master") == beside("results/importance/math_en")
    assert beside("results/cpt/math_en+general_en") is None
    kept = intermediates.records_of_deleted(intermediates.deleted_templates(PAPER))
    assert kept("results/importance/math_en") is None


def test_a_run_that_deletes_the_importance_runs_makes_figure_5bc_first():
    extra = "results/tables/update_similarity.csv"
    assert extra in targets.default_target(DELETING)
    assert extra not in targets.default_target(PAPER)
