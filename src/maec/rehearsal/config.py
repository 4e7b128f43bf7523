"""The rehearsal's configuration: the paper's, updated by an overlay of sizes and sources.

`config/rehearsal.yaml` may set only the keys of `REHEARSAL_KEYS` (token budgets, block
and batch sizes, benchmark limits, job resources, the experiments' grids and the abilities
they run for, the layers that Layer Swapping takes from each expert (a count of the
backbone's layers), the sources of the backbone, corpora, reference models and
benchmarks, Table 3's out-of-domain tasks (the hub's have no local copy), and where
training processes run), so the rehearsal
runs the paper's languages, abilities, method hyper-parameters, precision and rules and
cannot drift from `config/config.yaml`. `config/rehearsal-tied.yaml` goes on top of it
for the tied-embedding backbone, in the setting of the paper's Table 7 (its small models:
scientific reasoning in ES and TE), so it may set `TABLE7_KEYS` too.
"""

from __future__ import annotations

import copy
from fnmatch import fnmatchcase
from pathlib import Path

# Dotted key patterns an overlay may set (fnmatch; `*` is one key).
REHEARSAL_KEYS = (
    "backbone",
    "general_corpora.*.source",
    "abilities.*.corpus.source",
    "translation.model",
    "translation.languages",
    "translation.max_tokens",
    "translation.max_length",
    "tokenize.*",
    "training.batch_tokens",
    "training.micro_batch_size",
    "training.save_every_steps",
    "training.device",
    "training.deepspeed_config",
    "importance_cpt.tokens",
    "masked_cpt.tokens",
    "evaluation.*.hub",
    "evaluation.*.limit",
    "evaluation.*.max_new_tokens",
    "evaluation.*.batch_size",
    "resources.*.*",
    "experiments.baselines.tokens.*",
    "experiments.reference_models.*.source",
    "experiments.ood.tasks",
    "experiments.ood.limit",
    "experiments.ood.offline",
    "experiments.k2_grid",
    "experiments.ablation_abilities",
    "experiments.tensor_types",
    "experiments.selection.gamma",
    "experiments.selection.eta",
    "experiments.selection.k2",
    "experiments.selection.mu",
    "experiments.beyond.abilities",
    "experiments.beyond.layer_swap.*",
)
# The paper's Table 7 (small models, scientific reasoning in ES and TE): what the tied
# backbone's overlay may set besides.
TABLE7_KEYS = (
    "languages",
    "language_weights.mu",
    "evaluation.*.languages",
    "abilities.*.average",
    "experiments.tensor_types_average",
)
# Mappings an overlay replaces whole rather than updates key by key (tables of names).
REPLACED_KEYS = (
    "experiments.tensor_types",
    "experiments.ood.tasks",
    "experiments.tensor_types_average",
    "language_weights.mu",
)
# Written `{inputs}` in an overlay: the directory of the rehearsal's inputs.
INPUTS_PLACEHOLDER = "{inputs}"


def overlay_keys(overlay: dict, prefix: str = "") -> list[str]:
    """The dotted keys an overlay sets (a mapping of REPLACED_KEYS counts as one key)."""
    keys = []
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in REPLACED_KEYS:
            keys += overlay_keys(value, f"{path}.")
        else:
            keys.append(path)
    return keys


def check_overlay(overlay: dict, source: str, allowed=REHEARSAL_KEYS) -> None:
    """Every key of the overlay is one of `allowed` (sizes and sources: REHEARSAL_KEYS)."""
    keys = overlay_keys(overlay)
    outside = [k for k in keys if not any(fnmatchcase(k, pattern) for pattern in allowed)]
    if outside:
        raise ValueError(
            f"{source}: a rehearsal overlay changes only sizes and sources "
            f"(maec.rehearsal.config), but it sets {', '.join(outside)}"
        )


def _update(base: dict, overlay: dict, prefix: str = "") -> None:
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        if (
            isinstance(value, dict)
            and isinstance(base.get(key), dict)
            and path not in REPLACED_KEYS
        ):
            _update(base[key], value, f"{path}.")
        else:
            base[key] = copy.deepcopy(value)


def _fill(value, inputs: str):
    if isinstance(value, dict):
        return {k: _fill(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, inputs) for v in value]
    if isinstance(value, str):
        return value.replace(INPUTS_PLACEHOLDER, inputs)
    return value


def rehearsal_config(paper: dict, overlays: list[tuple[str, dict, tuple]], inputs, repo) -> dict:
    """`paper` updated by each (name, overlay, allowed keys) in turn, `{inputs}` replaced by
    the inputs directory and a relative `training.deepspeed_config` made absolute against
    `repo` (the rehearsal runs in its own working directory)."""
    config = copy.deepcopy(paper)
    for source, overlay, allowed in overlays:
        check_overlay(overlay, source, allowed)
        _update(config, _fill(overlay, str(Path(inputs).resolve())))
    training = config.get("training", {})
    deepspeed = training.get("deepspeed_config")
    if deepspeed is not None and not Path(deepspeed).is_absolute():
        resolved = (Path(repo) / deepspeed).resolve()
        if not resolved.is_file():
            raise FileNotFoundError(f"training.deepspeed_config: {resolved} does not exist")
        training["deepspeed_config"] = str(resolved)
    return config
