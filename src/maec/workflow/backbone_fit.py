"""Config values that must fit the backbone, checked before the first training step: every
tensor has a type (maec.tensors), the key-neuron patterns select tensors, k1 keeps an entry
of them, a token block fits the backbone's positions, every group of
experiments.tensor_types selects a tensor, LoRA's target_modules each adapt a module.

The workflow checks them while it plans when the backbone is on disk (a local `backbone`, or
`results/backbone` from an earlier run: headers and config.json only, milliseconds), and the
importance CPT checks them again before it trains, for a backbone downloaded in the same run.
Each check raises ValueError naming the config key and the backbone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from maec.tensors import check_typed, tensor_family, tensor_type
from maec.workflow import paths
from maec.workflow.models import MODEL_KINDS

# maec.io and maec.keyneurons import torch (a second per plan): they are imported in the
# functions that read a backbone, so a plan without one on disk never pays for it.


@dataclass(frozen=True)
class BackboneFacts:
    """What the checks read of a backbone: its tensors' entry counts and its positions."""

    where: str
    sizes: dict[str, int]
    max_positions: int | None


def backbone_facts(directory: str | Path) -> BackboneFacts:
    """The facts of a Hugging Face model directory (its headers and config.json)."""
    from maec.io.reader import open_checkpoint

    directory = Path(directory)
    ckpt = open_checkpoint(directory)
    try:
        sizes = {name: math.prod(ckpt.shape(name)) for name in ckpt.names}
    finally:
        ckpt.close()
    config_file = directory / "config.json"
    model_config = json.loads(config_file.read_text()) if config_file.exists() else {}
    return BackboneFacts(str(directory), sizes, model_config.get("max_position_embeddings"))


def facts_at_plan(config, workdir: str | Path) -> BackboneFacts | None:
    """The backbone's facts if it is on disk while the workflow plans in `workdir`, else
    None: the workflow's copy (results/backbone), else a local `backbone`."""
    from maec.io.format import CheckpointError

    for candidate in (Path(workdir, paths.BACKBONE), config.get("backbone")):
        if candidate and Path(workdir, candidate, "config.json").is_file():
            try:
                return backbone_facts(Path(workdir, candidate))
            except CheckpointError:
                return None  # not complete yet, or corrupt: the jobs that read it will say
    return None


def check_fit_at_plan(config, workdir: str | Path = ".") -> None:
    """The checks below, while the workflow plans, when the backbone is on disk."""
    facts = facts_at_plan(config, workdir)
    if facts is not None:
        check_backbone_fit(config, facts)


def check_backbone_fit(config, facts: BackboneFacts) -> None:
    """Every check of this module against one backbone."""
    from maec.keyneurons.masks import check_keeps_entries, eligible_names

    try:
        check_typed(facts.sizes, f"the backbone {facts.where}")
    except ValueError as err:
        raise ValueError(f"config: backbone: {err}") from None
    block_size = config["tokenize"]["block_size"]
    if facts.max_positions is not None and block_size > facts.max_positions:
        raise ValueError(
            f"config: tokenize.block_size {block_size} exceeds the backbone's "
            f"max_position_embeddings {facts.max_positions} ({facts.where})"
        )
    keys = config["key_neurons"]
    try:
        names = eligible_names(facts.sizes, keys["include"], keys["exclude"])
    except ValueError as err:
        raise ValueError(f"config: key_neurons.include/exclude: {err}") from None
    if not names:
        raise ValueError(
            f"config: key_neurons.include {keys['include']} and exclude {keys['exclude']} "
            f"select no tensor of the backbone {facts.where} (e.g. {min(facts.sizes)})"
        )
    sizes = [facts.sizes[name] for name in names]
    revert_k1 = config["experiments"].get("beyond", {}).get("revert", {}).get("k1")
    for key, k1 in (("key_neurons.k1", keys["k1"]), ("experiments.beyond.revert.k1", revert_k1)):
        if k1 is not None:
            try:
                check_keeps_entries(k1, keys["scope"], sizes, facts.where)
            except ValueError as err:
                raise ValueError(f"config: {key}: {err}") from None
    check_type_groups(config, facts)
    check_lora_targets(config, facts)


def check_type_groups(config, facts: BackboneFacts) -> None:
    """Each group of experiments.tensor_types has a tensor of the backbone: a group of
    types the backbone lacks (attention_q on Phi-3's fused qkv_proj) would merge R(A)
    nowhere and pass for a row of Table 8."""
    present = {tensor_type(name) for name in facts.sizes}
    for group, types in config["experiments"]["tensor_types"].items():
        if not present & set(types):
            raise ValueError(
                f"config: experiments.tensor_types.{group}: {types} select no tensor of the "
                f"backbone {facts.where} (its types: {', '.join(sorted(present))})"
            )


def lora_is_trained(config) -> bool:
    """Whether a planned model kind trains LoRA adapters (Table 2's rows, Table 3's models)."""
    kinds = list(config["experiments"]["rows"])
    kinds += (config["experiments"].get("ood") or {}).get("models", [])
    trained = {baseline for kind in kinds for baseline in MODEL_KINDS[kind].baselines()}
    return any(getattr(MODEL_KINDS[kind], "tuning", None) == "lora" for kind in trained)


def check_lora_targets(config, facts: BackboneFacts) -> None:
    """Each of LoRA's target_modules names a module of the backbone, as peft matches them
    (the module's name, or its last parts): a name that matches nothing would leave those
    projections without adapters, and peft says nothing while another name matches."""
    if not lora_is_trained(config):
        return
    modules = {name.rsplit(".", 1)[0] for name in facts.sizes}
    targets = config["experiments"]["baselines"]["lora"]["target_modules"]
    for i, target in enumerate(targets):
        if not any(m == target or m.endswith(f".{target}") for m in modules):
            projections = sorted(
                {
                    name.rsplit(".", 2)[-2]
                    for name in facts.sizes
                    if tensor_family(tensor_type(name)) in ("attention", "mlp")
                }
            )
            raise ValueError(
                f"config: experiments.baselines.lora.target_modules[{i}]: {target!r} is no "
                f"module of the backbone {facts.where} (its projections: "
                f"{', '.join(projections)})"
            )
