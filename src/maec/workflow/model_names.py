"""Model names, parsed and formatted in one place, and what a name resolves to: where the
model lives, which training runs it is counted to cost, whether it is trained.

A **model name** is `backbone`, or `{kind}_{ability}` with a kind of
`maec.workflow.models.MODEL_KINDS` (`maec_math`, `fcpt_la_science`), with `.{variant}` for a
kind that has variants (`maec_math.k2-0.6`, a merge variant of `maec.workflow.naming`); an
ability holds no `_` or `.`, so the last `_` ends the kind and the first `.` starts the
variant. A named kind's model is `{kind}-{name}` (`reference-mistral_7b`: a reference model
of the config; a name is letters, digits and `_`, so the first `-` ends the kind), a joint
model's abilities are joined by `+` in name order (`joint_math+science`). Pure Python.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from maec.workflow.models import MODEL_KINDS
from maec.workflow.naming import (
    ABILITY_NAME_RULE,
    format_variant,
    is_ability_name,
    is_model_name_part,
    joint_abilities,
    parse_variant,
)


@dataclass(frozen=True)
class ModelName:
    """A parsed model name; `str()` formats it back."""

    kind: str
    ability: str | None = None
    variant: str | None = None
    name: str | None = None  # of a named kind

    def __str__(self) -> str:
        text = self.kind if self.ability is None else f"{self.kind}_{self.ability}"
        text = text if self.name is None else f"{text}-{self.name}"
        return text if self.variant is None else f"{text}.{self.variant}"


def parse_model(name: str) -> ModelName:
    """`backbone`, `{kind}_{ability}`, `{kind}_{ability}.{variant}` or `{kind}-{name}` as a
    ModelName. Raises ValueError naming the model and the part it cannot read."""

    def bad(part: str, problem: str) -> ValueError:
        return ValueError(f"model name {name!r}: cannot read {part!r} ({problem})")

    base, dot, variant = name.partition(".")
    named_kind, dash, model_name = base.partition("-")
    if dash and named_kind in MODEL_KINDS and MODEL_KINDS[named_kind].named:
        if not is_model_name_part(model_name):
            raise bad(model_name, "a name is letters, digits and _")
        kind, ability = named_kind, None
    elif base in MODEL_KINDS and MODEL_KINDS[base].named:
        raise bad(base, f"a {base} model is {base}-{{name}}")
    elif base in MODEL_KINDS and not MODEL_KINDS[base].per_ability:
        kind, ability, model_name = base, None, None
    else:
        kind, _, ability = base.rpartition("_")
        if kind not in MODEL_KINDS or not MODEL_KINDS[kind].per_ability:
            per_ability = [k for k, spec in MODEL_KINDS.items() if spec.per_ability]
            raise bad(base, f"a name is {{kind}}_{{ability}}, kinds {', '.join(per_ability)}")
        if MODEL_KINDS[kind].joint:
            try:
                joint_abilities(ability)
            except ValueError as error:
                raise bad(ability, str(error)) from None
        elif not is_ability_name(ability):
            raise bad(ability, f"an ability is {ABILITY_NAME_RULE}")
        model_name = None
    if dot:
        if not MODEL_KINDS[kind].variants:
            raise bad(variant, f"a {kind} model has no variants")
        try:
            parse_variant(variant)
        except ValueError as error:
            raise ValueError(f"model name {name!r}: {error}") from None
    return ModelName(kind, ability, variant if dot else None, model_name)


def format_model(
    kind: str,
    ability: str | None = None,
    variant: str | Mapping[str, float | str | bool | None] | None = None,
    name: str | None = None,
) -> str:
    """A model's name: `format_model("maec", "math", {"k2": 0.6})` is `maec_math.k2-0.6`,
    `format_model("reference", name="mistral_7b")` is `reference-mistral_7b`. A variant is
    a name or parts for `format_variant`."""
    if isinstance(variant, Mapping):
        variant = format_variant(variant)
    wanted = ModelName(kind, ability, variant, name)
    text = str(wanted)
    if parse_model(text) != wanted:
        raise ValueError(
            f"model name {text!r}: kind {kind!r}, ability {ability!r}, name {name!r} do not fit"
        )
    return text


# ---- where a model lives, what it costs ---------------------------------------------------


def model_dir(config, model: str, seed_part: str = "") -> str:
    """Where an evaluated model of a training seed (its path part) lives."""
    name = parse_model(model)
    kind = MODEL_KINDS[name.kind]
    if seed_part and not kind.trained:
        raise ValueError(f"model {model!r} is not trained, so it has no seed {seed_part!r}")
    if kind.per_ability and not kind.joint and name.ability not in config["abilities"]:
        raise ValueError(f"model name {model!r}: {name.ability!r} is not in abilities")
    return kind.model_dir(config, name, seed_part)


def evaluation_inputs(config, model: str, seed_part: str = "") -> dict:
    """What an evaluation job of the model reads: {"model": its directory}, or for a merge
    variant, which is merged in memory and never written, its backbone and deltas
    (`maec.workflow.variants.variant_inputs`)."""
    name = parse_model(model)
    model_dir(config, model, seed_part)  # the same checks of the name
    return MODEL_KINDS[name.kind].evaluation_inputs(config, name, seed_part)


def merged_on_load(config, model: str) -> dict | None:
    """The merge settings an evaluation applies in memory (a merge variant's), else None."""
    name = parse_model(model)
    return MODEL_KINDS[name.kind].merged_on_load(config, name)


def model_training_runs(config, model: str) -> dict[str, int]:
    """The training runs a model is counted to cost (#Tokens, ICER): run directory ->
    planned tokens. A model on top of other runs counts them too (a DA row its CPT_L run,
    a task-vector row both of its runs); docs/evaluation.md has the accounting."""
    name = parse_model(model)
    return MODEL_KINDS[name.kind].training_runs(config, name.ability)


def is_trained(model: str) -> bool:
    """Whether a model is made from the workflow's training runs (it has one per seed)."""
    return MODEL_KINDS[parse_model(model).kind].trained
