"""How the workflow's jobs run: training seeds, the settings of each kind of training run,
and the resources of each kind of job. Pure Python, functions of the validated config.

The settings that make a training run's result reach its rule as `params` (a change reruns
it); those that change only how it runs (micro-batch size, save and log cadence) as
`resources`, which never do (`training_cadence`).
"""

from maec.workflow.paths import seed_dir, seed_of

# ---- training seeds -------------------------------------------------------------------------


def training_seeds(config) -> list[int]:
    """`seeds` training seeds from training.seed on: every training run (importance CPT,
    masked CPT, baselines) and what is made from it repeats per seed."""
    first = config["training"]["seed"]
    return [first + i for i in range(config["seeds"])]


def seed_dir_of(config, seed: int) -> str:
    """A training seed's path part: empty for the first, `seed-{k}/` for the others."""
    return seed_dir(seed, training_seeds(config)[0])


def seed_of_dir(config, part: str) -> int:
    """The training seed of a path part (the {seed_dir} wildcard)."""
    return seed_of(part, training_seeds(config)[0])


# ---- training runs ------------------------------------------------------------------------


def training_params(config, tokens: int, seed_part: str = "") -> dict:
    """The settings that make a training run's result (a change reruns it); `seed_part`:
    the seed's path part (the {seed_dir} wildcard), whose training seed the run draws from."""
    t = config["training"]
    return dict(
        lr=t["lr"],
        total_tokens=tokens,
        batch_tokens=t["batch_tokens"],
        precision=t["precision"],
        weight_decay=t["weight_decay"],
        warmup_steps=t["warmup_steps"],
        lr_schedule=t["lr_schedule"],
        seed=seed_of_dir(config, seed_part),
        deepspeed_config=t["deepspeed_config"],
        device=t["device"],
    )


def importance_params(config, seed_part: str) -> dict:
    """The importance CPT: the shared settings, and the float32 master weights Eq. 1 reads."""
    tokens = config["importance_cpt"]["tokens"]
    return dict(training_params(config, tokens, seed_part), fp32_masters=True)


def masked_params(config, seed_part: str) -> dict:
    """The masked CPT runs: the shared settings, the optimizer state and activation
    checkpointing; the sparse state takes the place of DeepSpeed."""
    params = training_params(config, config["masked_cpt"]["tokens"], seed_part)
    params.update(
        optimizer_state=config["training"]["optimizer_state"],
        gradient_checkpointing=config["training"]["gradient_checkpointing"],
    )
    if params["optimizer_state"] == "sparse":
        params["deepspeed_config"] = None
    return params | _masters(config)


def unmasked_params(config, seed_part: str) -> dict:
    """The masked CPT runs' settings for the same runs on every entry (an ablation)."""
    return training_params(config, config["masked_cpt"]["tokens"], seed_part) | _masters(config)


def precision_params(config) -> dict:
    """What Eq. 2 reads of its runs, as a param only when it is not their checkpoints (the
    other configs' params, and their reruns, stay as they are)."""
    precision = config["deltas"]["precision"]
    return {} if precision == "checkpoint" else {"precision": precision}


def _masters(config) -> dict:
    """With `deltas.precision: float32` the runs that Eq. 2 reads save their float32
    masters (only then: the other configs' params, and their reruns, stay as they are)."""
    return {"fp32_masters": True} if config["deltas"]["precision"] == "float32" else {}


def baseline_params(config, tuning: str, tokens: int, seed_part: str) -> dict:
    """A baseline's run: the shared settings, LoRA's learning rate and adapters for `lora`."""
    params = training_params(config, tokens, seed_part)
    if tuning == "lora":
        baselines = config["experiments"]["baselines"]
        params.update(lr=baselines["lora_lr"], lora=baselines["lora"], deepspeed_config=None)
    return params


def pretrain_params(config) -> dict:
    """The demo world's backbone pretraining: the shared settings with its own lr, batch
    and schedule."""
    pretrain = config["world"]["pretrain"]
    params = training_params(config, pretrain["tokens"])
    params.update(
        lr=pretrain["lr"],
        batch_tokens=pretrain["batch_tokens"],
        warmup_steps=pretrain["warmup_steps"],
        lr_schedule=pretrain["lr_schedule"],
    )
    return params


# The training settings that say how a job runs, not what it makes (`training_cadence`).
CADENCE = ("micro_batch_size", "save_every_steps", "log_every_steps")


def training_cadence(config, micro_batch_size: int | None = None) -> dict:
    """How a training job runs without changing its result: the micro-batch size per device
    (gradient accumulation keeps batch_tokens), how often the resume state is saved and
    progress logged. They go to the job as resources, which never make Snakemake rerun a job
    (params do), and which the profile or --set-resources may set per rule."""
    t = config["training"]
    return dict(
        micro_batch_size=micro_batch_size or t["micro_batch_size"],
        save_every_steps=t["save_every_steps"],
        log_every_steps=t["log_every_steps"],
    )


# ---- resources ------------------------------------------------------------------------------


# a kind of job that may go without its own resources, and whose it then takes
RESOURCES_FALLBACK = {"translate": "evaluate"}


def _resource_spec(config, kind: str) -> dict:
    resources = config["resources"]
    return resources[kind] if kind in resources else resources[RESOURCES_FALLBACK[kind]]


def job_resources(config, kind: str) -> dict:
    """Resources of a kind of job (train, evaluate, translate, stream, light) for the `resources:`
    directive: gpu (of all nodes), gpu_model (when set), mem_mb (per node) and runtime in
    minutes. On several nodes, one task per node, and `mpi` so that the Slurm plugin runs
    the job's script once, in the batch step, where maec.training.launch starts torchrun on
    every node with srun; tasks_per_gpu 0 keeps the plugin from asking for a task per GPU."""
    spec = _resource_spec(config, kind)
    resources = dict(
        gpu=spec["gpu"] * spec["nodes"], mem_mb=spec["mem_mb"], runtime=spec["runtime"]
    )
    if spec["gpu_model"]:
        resources["gpu_model"] = spec["gpu_model"]
    if spec["nodes"] > 1:
        resources.update(nodes=spec["nodes"], tasks=spec["nodes"], tasks_per_gpu=0, mpi="srun")
    return resources


def job_threads(config, kind: str) -> int:
    return _resource_spec(config, kind)["threads"]
