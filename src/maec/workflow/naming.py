"""The names that the workflow joins into paths: language codes, ability names, the corpus and
run names built from them, and merge variants, each parsed and formatted in one place.

A **merge-variant name** is `,`-joined parts, each a key of `VARIANT_KEYS` alone (`full`)
or `key-value` (`k2-0.6`, `types-mlp`, `plain-ra`), every key at most once; e.g.
`gamma-0.5,eta-1.0,k2-0.8,mu-1.2`. Values keep their spelling, so parsing a name and
formatting it back gives the same name; `fmt` spells the numbers the workflow writes.
Model names (`maec_math.k2-0.6`) are `maec.workflow.models`'.

A new variant key is one entry in `VARIANT_KEYS`. Pure Python: the workflow imports this
while it builds the DAG.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from maec.merge_methods import MERGE_METHODS

NUMBER, NAME, FLAG = "number", "name", "flag"


@dataclass(frozen=True)
class VariantKey:
    """A key of a merge-variant name and what follows its `-`: a `NUMBER`, a `NAME`
    (letters, digits, `_`, `.`, `-`), nothing (`FLAG`), or one of the `choices`."""

    description: str
    value: str
    choices: tuple[str, ...] = ()


VARIANT_KEYS: dict[str, VariantKey] = {
    "gamma": VariantKey("γ of Eq. 5 instead of merge.gamma", NUMBER),
    "eta": VariantKey("η of Eq. 5 instead of merge.eta", NUMBER),
    "k2": VariantKey("k2 of Eq. 4 instead of the ability's", NUMBER),
    "mu": VariantKey("one μ for every language in Eq. 3 (R_Lang)", NUMBER),
    "types": VariantKey("T = every tensor of these types (experiments.tensor_types)", NAME),
    "within": VariantKey("T = the tensors of T of these types (experiments.tensor_types)", NAME),
    "plain": VariantKey("R(A) = Θ_{A,L0} − Θ_o (no β term)", NAME, choices=("ra",)),
    "full": VariantKey("the masked CPT runs trained on every entry", FLAG),
    "combine": VariantKey("Eq. 5's terms combined by a merge method", NAME, tuple(MERGE_METHODS)),
    "revert": VariantKey("R(A) from the unmasked run, all but the top-k1 updates reverted", FLAG),
}

_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MODEL_NAME = re.compile(r"[A-Za-z0-9_]+")


def fmt(value: float) -> str:
    """A number as names spell it: `0.2`, `1.0`, `0.05`."""
    value = float(value)
    return f"{value:g}" if value != int(value) else f"{value:.1f}"


# ---- language codes and ability names ----------------------------------------------------
# One pattern each, shared by the config check and every wildcard that holds one (common.smk),
# so that a code or name the config accepts is one that every rule can build. Neither holds
# `_`, `+`, `.`, `,` or `-`: those join corpus, run, model and variant names. Lowercase only,
# so that two names never differ by case alone (case-insensitive file systems).

LANGUAGE_CODE = r"[a-z][a-z0-9]{1,7}"
LANGUAGE_CODE_RULE = "lowercase letters and digits, starting with a letter, 2 to 8 characters"
ABILITY_NAME = r"[a-z][a-z0-9]*"
ABILITY_NAME_RULE = "lowercase letters and digits, starting with a letter, not 'general'"
# `general_{lang}` names the general corpora; an ability of that name would share them.
RESERVED_ABILITY_NAMES = ("general",)
CORPUS_NAME = rf"{ABILITY_NAME}_{LANGUAGE_CODE}"  # general_{lang} or {ability}_{lang}
RUN_NAME = rf"{CORPUS_NAME}(\+{CORPUS_NAME})*"  # the corpora of a training run, joined by +


def is_language_code(code: str) -> bool:
    """`en`, `zh`, `es419`: see LANGUAGE_CODE_RULE."""
    return isinstance(code, str) and re.fullmatch(LANGUAGE_CODE, code) is not None


def is_ability_name(name: str) -> bool:
    """`math`, `science`, `code2`: see ABILITY_NAME_RULE; an ability joins with `_` into
    corpus and model names."""
    return (
        isinstance(name, str)
        and re.fullmatch(ABILITY_NAME, name) is not None
        and name not in RESERVED_ABILITY_NAMES
    )


def joint_abilities(text: str) -> list[str]:
    """The abilities of a joint model's `math+science`: two or more ability names, distinct
    and in name order (so one set of abilities has one name). Raises ValueError."""
    abilities = text.split("+")
    if len(abilities) < 2 or not all(map(is_ability_name, abilities)):
        raise ValueError(f"{text!r} is not two or more abilities joined by + ({ABILITY_NAME_RULE})")
    if abilities != sorted(set(abilities)):
        raise ValueError(f"{text!r}: abilities must be distinct and in name order")
    return abilities


def joint_pattern(abilities) -> str:
    """A regular expression of the joint names of `abilities`: two or more joined by +."""
    names = "|".join(map(re.escape, abilities))
    return rf"({names})(\+({names}))+"


def is_model_name_part(name: str) -> bool:
    """Letters, digits and `_`: the name after a named kind's `-` (`reference-mistral_7b`)."""
    return bool(_MODEL_NAME.fullmatch(name))


# ---- merge variants -----------------------------------------------------------------------


def _value_problem(key: str, value: str | None) -> str | None:
    """Why `value` cannot follow `key` (None when it can)."""
    spec = VARIANT_KEYS[key]
    if spec.value == FLAG:
        return None if value is None else f"{key} takes no value"
    if value is None or value == "":
        return f"{key} needs a value ({spec.value})"
    if spec.choices and value not in spec.choices:
        return f"{key} takes {' or '.join(spec.choices)}"
    if spec.value == NUMBER and not (_NUMBER.fullmatch(value) and math.isfinite(float(value))):
        return f"{key} takes a number"
    if spec.value == NAME and not _NAME.fullmatch(value):
        return f"{key} takes a name of letters, digits, _, . and -"
    return None


def parse_variant(variant: str) -> dict[str, str | None]:
    """A merge-variant name's parts, in its order: key -> value as written (None for a
    flag). Raises ValueError naming the variant and the part it cannot read."""
    parts: dict[str, str | None] = {}
    for part in variant.split(","):
        key, dash, value = part.partition("-")
        if key not in VARIANT_KEYS:
            problem = f"keys are {', '.join(VARIANT_KEYS)}"
        elif key in parts:
            problem = f"{key} is given twice"
        else:
            problem = _value_problem(key, value if dash else None)
        if problem:
            raise ValueError(f"merge variant {variant!r}: cannot read {part!r} ({problem})")
        parts[key] = value if dash else None
    return parts


def format_variant(parts: Mapping[str, float | str | bool | None]) -> str:
    """The name of a merge variant: {key: value} in order; a number is spelled by `fmt`,
    a string as it is; True or None for a flag. `format_variant({"k2": 0.6})` is `k2-0.6`."""
    if not parts:
        raise ValueError("a merge variant needs at least one part")
    text = []
    for key, value in parts.items():
        if value is None or value is True:
            text.append(key)
        elif isinstance(value, str):
            text.append(f"{key}-{value}")
        else:
            text.append(f"{key}-{fmt(value)}")
    variant = ",".join(text)
    parse_variant(variant)
    return variant


def variant_values(variant: str) -> dict[str, float | str | bool]:
    """A merge variant's settings by key: float for a number, str for a name, True for a
    flag. `variant_values("gamma-0.5,full")` is `{"gamma": 0.5, "full": True}`."""
    values: dict[str, float | str | bool] = {}
    for key, value in parse_variant(variant).items():
        kind = VARIANT_KEYS[key].value
        values[key] = True if kind == FLAG else float(value) if kind == NUMBER else value
    return values
