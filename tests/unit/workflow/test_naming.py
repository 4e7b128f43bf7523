"""Model and merge-variant names: parsing, formatting, round trips and clear errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maec.workflow.model_names import ModelName, format_model, parse_model
from maec.workflow.models import MODEL_KINDS
from maec.workflow.naming import (
    VARIANT_KEYS,
    fmt,
    format_variant,
    parse_variant,
    variant_values,
)


@pytest.mark.parametrize(
    "value, text",
    [(0.2, "0.2"), (1, "1.0"), (1.0, "1.0"), (0.0, "0.0"), (0.05, "0.05"), (1.2, "1.2")],
)
def test_fmt_spells_numbers_as_names_do(value, text):
    assert fmt(value) == text


@pytest.mark.parametrize(
    "variant, parts",
    [
        ("k2-0.6", {"k2": "0.6"}),
        (
            "gamma-0.5,eta-1.0,k2-0.8,mu-1.2",
            {"gamma": "0.5", "eta": "1.0", "k2": "0.8", "mu": "1.2"},
        ),
        ("types-mlp", {"types": "mlp"}),
        ("within-mlp_down", {"within": "mlp_down"}),
        ("types-attention_q", {"types": "attention_q"}),
        ("types-mlp-down.v2", {"types": "mlp-down.v2"}),
        ("plain-ra", {"plain": "ra"}),
        ("full", {"full": None}),
        ("full,k2-0.0", {"full": None, "k2": "0.0"}),
    ],
)
def test_variant_names_parse_and_format_back(variant, parts):
    assert parse_variant(variant) == parts
    assert list(parse_variant(variant)) == list(parts)  # the name's order
    assert format_variant(parse_variant(variant)) == variant


def test_variant_values_are_typed():
    assert variant_values("gamma-0.5,eta-1,types-mlp,full,plain-ra") == {
        "gamma": 0.5,
        "eta": 1.0,
        "types": "mlp",
        "full": True,
        "plain": "ra",
    }


def test_format_variant_spells_numbers_with_fmt():
    assert format_variant({"gamma": 0.5, "eta": 1, "k2": 0.8, "mu": 1.2}) == (
        "gamma-0.5,eta-1.0,k2-0.8,mu-1.2"
    )
    assert format_variant({"full": True}) == "full"
    assert format_variant({"types": "mlp"}) == "types-mlp"


@pytest.mark.parametrize(
    "variant, part",
    [
        ("k2", "k2"),
        ("k2-", "k2-"),
        ("k2-x", "k2-x"),
        ("k2-nan", "k2-nan"),
        ("gamma-0.5,,k2-0.1", ""),
        ("alpha-0.3", "alpha-0.3"),
        ("full-1", "full-1"),
        ("plain-rb", "plain-rb"),
        ("types-a/b", "types-a/b"),
        ("k2-0.6,k2-0.8", "k2-0.8"),
        ("", ""),
    ],
)
def test_a_bad_variant_names_the_variant_and_the_part(variant, part):
    with pytest.raises(ValueError) as error:
        parse_variant(variant)
    message = str(error.value)
    assert f"merge variant {variant!r}" in message
    assert f"cannot read {part!r}" in message


def test_format_variant_refuses_what_it_could_not_parse():
    with pytest.raises(ValueError, match="cannot read 'k2-x'"):
        format_variant({"k2": "x"})
    with pytest.raises(ValueError, match="at least one part"):
        format_variant({})


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("backbone", ModelName("backbone")),
        ("maec_math", ModelName("maec", "math")),
        ("maec_science.k2-0.6", ModelName("maec", "science", "k2-0.6")),
        (
            "maec_math.gamma-0.5,eta-1.0,k2-0.8,mu-1.2",
            ModelName("maec", "math", "gamma-0.5,eta-1.0,k2-0.8,mu-1.2"),
        ),
        ("fcpt_la_math", ModelName("fcpt_la", "math")),
        ("lcpt_a_science", ModelName("lcpt_a", "science")),
        ("ftv_math", ModelName("ftv", "math")),
        ("ltv_science2", ModelName("ltv", "science2")),
        ("fcpt_l_da_math", ModelName("fcpt_l_da", "math")),
        ("fcpt_t_science", ModelName("fcpt_t", "science")),
        ("reference-mistral_7b", ModelName("reference", name="mistral_7b")),
        ("reference-init", ModelName("reference", name="init")),
        ("ftv_ties_math", ModelName("ftv_ties", "math")),
        ("ltv_dare_science", ModelName("ltv_dare", "science")),
        ("lswap_math", ModelName("lswap", "math")),
        ("joint_math+science", ModelName("joint", "math+science")),
        ("maec_math.combine-ties", ModelName("maec", "math", "combine-ties")),
        ("maec_math.revert", ModelName("maec", "math", "revert")),
    ],
)
def test_model_names_parse_and_format_back(name, parsed):
    assert parse_model(name) == parsed
    assert str(parsed) == name
    assert format_model(parsed.kind, parsed.ability, parsed.variant, parsed.name) == name


def test_every_kind_formats_and_parses():
    for kind, spec in MODEL_KINDS.items():
        ability = ("math+science" if spec.joint else "math") if spec.per_ability else None
        model_name = "llama2_7b" if spec.named else None
        name = format_model(kind, ability, name=model_name)
        assert parse_model(name) == ModelName(kind, ability, name=model_name)


def test_format_model_takes_variant_parts():
    assert format_model("maec", "math", {"k2": 0.6}) == "maec_math.k2-0.6"
    assert format_model("maec", "math", "full") == "maec_math.full"


@pytest.mark.parametrize(
    "name, part",
    [
        ("maec", "maec"),
        ("maec_", ""),
        ("maec_ma-th", "ma-th"),
        ("cpt_math", "cpt_math"),
        ("backbone_math", "backbone_math"),
        ("backbone.k2-0.6", "k2-0.6"),
        ("fcpt_la_math.k2-0.6", "k2-0.6"),
        ("maec_math.k2-x", "k2-x"),
        ("maec_math.", ""),
        ("reference", "reference"),
        ("reference-", ""),
        ("reference-mistral-7b", "mistral-7b"),
        ("reference-init.k2-0.6", "k2-0.6"),
        ("reference_math", "reference_math"),
        ("joint_math", "math"),
        ("joint_science+math", "science+math"),
        ("joint_math+math", "math+math"),
        ("maec_math+science", "math+science"),
        ("maec_math.combine-sum", "combine-sum"),
    ],
)
def test_a_bad_model_name_names_the_model_and_the_part(name, part):
    with pytest.raises(ValueError) as error:
        parse_model(name)
    message = str(error.value)
    assert f"model name {name!r}" in message
    assert f"cannot read {part!r}" in message


@pytest.mark.parametrize(
    "kind, ability, name",
    [
        ("backbone", "math", None),
        ("maec", None, None),
        ("fcpt", "la_math", None),
        ("reference", None, None),
        ("maec", "math", "x"),
        ("backbone", None, "x"),
    ],
)
def test_format_model_refuses_parts_that_do_not_fit(kind, ability, name):
    with pytest.raises(ValueError, match="model name"):
        format_model(kind, ability, name=name)


_numbers = st.floats(min_value=0, max_value=10, allow_nan=False).map(fmt)
_values = {
    "number": _numbers,
    "name": st.text("abcxyzABZ019_.-", min_size=1, max_size=8),
    "flag": st.none(),
}


@st.composite
def variant_parts(draw):
    keys = draw(st.lists(st.sampled_from(sorted(VARIANT_KEYS)), min_size=1, unique=True))
    parts = {}
    for key in keys:
        spec = VARIANT_KEYS[key]
        strategy = st.sampled_from(spec.choices) if spec.choices else _values[spec.value]
        parts[key] = draw(strategy)
    return parts


@given(variant_parts(), st.sampled_from(["math", "science", "code2"]))
def test_any_variant_round_trips_alone_and_in_a_model_name(parts, ability):
    variant = format_variant(parts)
    assert parse_variant(variant) == parts
    name = format_model("maec", ability, variant)
    assert parse_model(name) == ModelName("maec", ability, variant)
    assert str(parse_model(name)) == name
