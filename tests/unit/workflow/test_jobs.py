"""Training seeds, the settings of each kind of training run, and the resources of jobs."""

import copy

from helpers.configs import shipped_config

from maec.workflow import jobs

PAPER = shipped_config("config.yaml")
FIRST = PAPER["training"]["seed"]


def test_each_seed_has_its_path_part_and_back():
    config = PAPER | {"seeds": 3}
    assert jobs.training_seeds(config) == [FIRST, FIRST + 1, FIRST + 2]
    assert [jobs.seed_dir_of(config, s) for s in jobs.training_seeds(config)] == [
        "",
        f"seed-{FIRST + 1}/",
        f"seed-{FIRST + 2}/",
    ]
    assert jobs.seed_of_dir(config, f"seed-{FIRST + 2}/") == FIRST + 2


def test_a_run_draws_from_its_seed_and_the_masked_runs_add_their_state():
    params = jobs.masked_params(PAPER, f"seed-{FIRST + 1}/")
    assert params["seed"] == FIRST + 1
    assert params["total_tokens"] == PAPER["masked_cpt"]["tokens"]
    assert params["optimizer_state"] == PAPER["training"]["optimizer_state"]
    sparse = copy.deepcopy(PAPER)
    sparse["training"]["optimizer_state"] = "sparse"
    assert jobs.masked_params(sparse, "")["deepspeed_config"] is None
    assert jobs.importance_params(PAPER, "")["fp32_masters"] is True
    assert "optimizer_state" not in jobs.unmasked_params(PAPER, "")


def test_lora_baselines_take_their_learning_rate_and_adapters_without_deepspeed():
    baselines = PAPER["experiments"]["baselines"]
    lora = jobs.baseline_params(PAPER, "lora", 1000, "")
    assert (lora["lr"], lora["lora"], lora["deepspeed_config"]) == (
        baselines["lora_lr"],
        baselines["lora"],
        None,
    )
    full = jobs.baseline_params(PAPER, "full", 1000, "")
    assert full["lr"] == PAPER["training"]["lr"] and "lora" not in full


def test_the_cadence_is_a_resource_not_a_param():
    cadence = jobs.training_cadence(PAPER)
    assert set(cadence) == {"micro_batch_size", "save_every_steps", "log_every_steps"}
    assert not set(cadence) & set(jobs.masked_params(PAPER, ""))
    assert jobs.training_cadence(PAPER, 7)["micro_batch_size"] == 7


def test_a_job_on_several_nodes_asks_for_one_task_per_node():
    config = copy.deepcopy(PAPER)
    config["resources"]["train"] |= dict(nodes=2, gpu=4, gpu_model="h100")
    assert jobs.job_resources(config, "train") == dict(
        gpu=8,
        mem_mb=config["resources"]["train"]["mem_mb"],
        runtime=config["resources"]["train"]["runtime"],
        gpu_model="h100",
        nodes=2,
        tasks=2,
        tasks_per_gpu=0,
        mpi="srun",
    )
    assert "nodes" not in jobs.job_resources(PAPER, "stream")


def test_float32_deltas_have_their_runs_save_masters_and_say_so_only_then():
    assert jobs.precision_params(PAPER) == {}
    assert "fp32_masters" not in jobs.masked_params(PAPER, "")
    config = copy.deepcopy(PAPER)
    config["deltas"]["precision"] = "float32"
    assert jobs.precision_params(config) == {"precision": "float32"}
    assert jobs.masked_params(config, "")["fp32_masters"] is True
    assert jobs.unmasked_params(config, "")["fp32_masters"] is True
    assert "fp32_masters" not in jobs.baseline_params(config, "full", 1000, "")


def test_the_translation_takes_its_own_resources_or_else_the_evaluations():
    configured = PAPER["resources"]["translate"]["runtime"]
    assert jobs.job_resources(PAPER, "translate")["runtime"] == configured
    config = copy.deepcopy(PAPER)
    del config["resources"]["translate"]
    assert jobs.job_resources(config, "translate") == jobs.job_resources(config, "evaluate")
    assert jobs.job_threads(config, "translate") == jobs.job_threads(config, "evaluate")
