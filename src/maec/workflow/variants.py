"""The settings of every merge: Eq. 3's μ, Eq. 5's coefficients and T, and a merge variant's
changes to them (its name says them: `maec.workflow.naming`), with the merge methods' own
settings. Pure Python, functions of the validated config.
"""

from maec.workflow import corpora
from maec.workflow.naming import format_variant, parse_variant, variant_values
from maec.workflow.paths import BACKBONE, ability_delta, language_delta, r_lang


def language_mu(config) -> dict[str, float]:
    """μ_i of Eq. 3 per language; a language that language_weights.mu leaves out gets 1.0."""
    mu = config["language_weights"]["mu"]
    return {lang: float(mu.get(lang, 1.0)) for lang in corpora.target_languages(config)}


def uniform_mu(config, mu) -> dict[str, float]:
    """One μ for every language (the merge variant `mu-{μ}`)."""
    return {lang: float(mu) for lang in corpora.target_languages(config)}


def merge_method_settings(config, method: str) -> dict:
    """TIES's or DARE's settings, under their name (`combine`); TIES breaks its trim's ties
    with the key-neuron tie rule's seed. DARE has no scale: its vectors carry their weights."""
    beyond = config["experiments"]["beyond"]
    if method == "ties":
        return dict(combine="ties", tie_seed=config["key_neurons"]["tie_seed"], **beyond["ties"])
    return dict(combine="dare", **beyond["dare"])


def variant_settings(config, ability: str, variant: str) -> dict:
    """A merge variant's settings: what its name says, else the configured."""
    values = variant_values(variant)
    tensor_types = config["experiments"]["tensor_types"]
    groups = {}
    for key in ("types", "within"):
        name = values.get(key)
        if name is not None and name not in tensor_types:
            raise ValueError(
                f"merge variant {variant!r}: cannot read '{key}-{name}' "
                "(not a name of experiments.tensor_types)"
            )
        groups[key] = None if name is None else tensor_types[name]
    settings = dict(
        k2=values.get("k2", config["abilities"][ability]["k2"]),
        gamma=values.get("gamma", config["merge"]["gamma"]),
        eta=values.get("eta", config["merge"]["eta"]),
        mu=parse_variant(variant).get("mu"),  # as written: it names R_Lang's file
        types=groups["types"],
        within=groups["within"],
        ability_weights=(
            "ability-plain"
            if "plain" in values
            else "ability-revert"
            if "revert" in values
            else "ability"
        ),
        deltas="deltas-full" if "full" in values else "deltas",
    )
    # only a variant that combines by a merge method has the key, so that the other
    # variants' params (and their reruns) stay as they are
    if "combine" in values:
        settings["combine"] = merge_method_settings(config, values["combine"])
    return settings


def variant_inputs(config, ability: str, variant: str, seed_part: str) -> dict:
    """A merge variant's backbone, R(A) and R_Lang; and the language deltas that TIES and
    DARE take apart from R_Lang."""
    v = variant_settings(config, ability, variant)
    inputs = dict(
        backbone=BACKBONE,
        r_a=ability_delta(ability, v["deltas"], v["ability_weights"], seed_part),
        r_lang=r_lang(v["deltas"], v["mu"], seed_part),
    )
    if "combine" in v:
        inputs["languages"] = [
            language_delta(lang, v["deltas"], seed_part)
            for lang in corpora.target_languages(config)
        ]
    return inputs


def variant_merge_settings(config, ability: str, variant: str) -> dict:
    """The merge's settings, and the μ of R_Lang that the merge checks its input against."""
    v = variant_settings(config, ability, variant)
    keys = ("k2", "gamma", "eta", "types", "within", "combine")
    settings = {key: v[key] for key in keys if key in v}
    mu = language_mu(config) if v["mu"] is None else uniform_mu(config, v["mu"])
    return {**settings, "dtype": config["merge"]["dtype"], "mu": mu}


def selection_variants(config) -> list[str]:
    """The selection grid as merge variants, in grid order."""
    grid = config["experiments"]["selection"]
    return [
        format_variant(dict(gamma=g, eta=e, k2=k, mu=m))
        for g in grid["gamma"]
        for e in grid["eta"]
        for k in grid["k2"]
        for m in grid["mu"]
    ]


def revert_settings(config) -> dict:
    """The revert's cut (experiments.beyond.revert.k1, default the masks' k1) and the
    key-neuron rule's eligible tensors and tie seed."""
    keys = config["key_neurons"]
    k1 = config["experiments"]["beyond"]["revert"]["k1"]
    return dict(
        k1=keys["k1"] if k1 is None else k1,
        include=keys["include"],
        exclude=keys["exclude"],
        tie_seed=keys["tie_seed"],
    )
