# Input functions, params and rows of the comparisons beyond the paper (beyond.smk,
# docs/beyond.md): TIES and DARE on MAEC's terms (merge variants `combine-ties`,
# `combine-dare`) and on the task vectors of F-TV / L-TV, Layer Swapping, revert instead of
# mask (merge variant `revert`) and several abilities in one model. Every model reuses
# trained checkpoints.

from maec.workflow.config_checks import joint_abilities_of
from maec.workflow.naming import joint_abilities

BEYOND = EXPERIMENTS["beyond"]
# F-TV / L-TV with another combination: model kind -> (training method, combination).
COMBINED_TASK_VECTORS = {
    "ftv_ties": ("full", "ties"),
    "ftv_dare": ("full", "dare"),
    "ltv_ties": ("lora", "ties"),
    "ltv_dare": ("lora", "dare"),
}
# The experts of Layer Swapping: the ability expert, the language expert.
LAYER_SWAP_EXPERTS = ("fcpt_a", "fcpt_l")
JOINT = joint_abilities_of(config)
# The rows of beyond_{ability}: (label, model kind, MAEC variant, the baselines whose
# trained runs the model reuses); the joint row is added for the abilities of the joint model.
BEYOND_ROWS = [
    ("MAEC", "maec", None, ()),
    ("MAEC TIES", "maec", "combine-ties", ()),
    ("MAEC DARE", "maec", "combine-dare", ()),
    ("MAEC revert", "maec", "revert", ()),
    ("w/o key neurons", "maec", "full", ()),
    ("F-TV", "ftv", None, TASK_VECTOR_BASELINES["full"]),
    ("F-TV TIES", "ftv_ties", None, TASK_VECTOR_BASELINES["full"]),
    ("F-TV DARE", "ftv_dare", None, TASK_VECTOR_BASELINES["full"]),
    ("L-TV", "ltv", None, TASK_VECTOR_BASELINES["lora"]),
    ("L-TV TIES", "ltv_ties", None, TASK_VECTOR_BASELINES["lora"]),
    ("L-TV DARE", "ltv_dare", None, TASK_VECTOR_BASELINES["lora"]),
    ("Layer swap", "lswap", None, LAYER_SWAP_EXPERTS),
]


def trained_baselines():
    """The baseline kinds whose runs Table 2's rows (experiments.rows) train: a row on top
    of other runs (task vectors, domain adaptation) trains those too. The comparisons
    here train nothing more."""
    kinds = set(EXPERIMENTS["rows"])
    for kind in kinds & set(TASK_VECTORS):
        kinds |= set(TASK_VECTOR_BASELINES[TASK_VECTORS[kind]])
    return kinds | {ADAPTATIONS[k] for k in kinds & set(ADAPTATIONS)}


def combine_settings(combine):
    """TIES's or DARE's hyper-parameters (DARE has no scale: its vectors carry their weights)."""
    if combine == "ties":
        return dict(
            combine="ties", tie_seed=config["key_neurons"]["tie_seed"], **BEYOND["ties"]
        )
    return dict(combine="dare", **BEYOND["dare"])


def get_combined_task_vector_settings(wildcards):
    return combine_settings(wildcards.combine)


def variant_combine_inputs(deltas, seed=""):
    """The per-language deltas that TIES and DARE take apart from R_Lang."""
    return [language_delta(lang, deltas, seed) for lang in LANGUAGES]


def variant_combine_settings(values):
    """The `combine` settings of a merge variant, or {} (so the other variants' params, and
    their reruns, stay as they were)."""
    if "combine" not in values:
        return {}
    return {"combine": combine_settings(values["combine"])}


def revert_k1():
    k1 = BEYOND["revert"]["k1"]
    return config["key_neurons"]["k1"] if k1 is None else k1


def get_revert_inputs(wildcards):
    return dict(
        backbone=BACKBONE,
        trained=cpt_dir(ability_run(wildcards.ability), "deltas-full"),
        general_model=cpt_dir(reference_run()),
    )


def get_revert_settings():
    keys = config["key_neurons"]
    # a dict literal: `include` is a Snakemake keyword
    return {
        "k1": revert_k1(),
        "include": keys["include"],
        "exclude": keys["exclude"],
        "tie_seed": keys["tie_seed"],
    }


def get_layer_swap_ability_model(wildcards):
    return baseline_run_dir(LAYER_SWAP_EXPERTS[0], wildcards.ability, wildcards.seed)


def get_layer_swap_language_model(wildcards):
    return baseline_run_dir(LAYER_SWAP_EXPERTS[1], wildcards.ability, wildcards.seed)


def get_joint_inputs(wildcards):
    abilities = joint_abilities(wildcards.abilities)
    return dict(
        backbone=BACKBONE,
        r_a=[ability_delta(a) for a in abilities],
        similarity=[similarity_table(a) for a in abilities],
        r_lang=r_lang(),
    )


def get_joint_gamma(wildcards):
    gamma = BEYOND["joint_gamma"]
    return {
        a: gamma.get(a, config["merge"]["gamma"])
        for a in joint_abilities(wildcards.abilities)
    }


def joint_model_name():
    return format_model("joint", "+".join(JOINT)) if JOINT else None


def beyond_model_dir(name, seed=""):
    """Where a model of this file lives (model_dir asks), None for another kind. Its rules
    build the default seed's models only."""
    if name.kind in COMBINED_TASK_VECTORS:
        method, combine = COMBINED_TASK_VECTORS[name.kind]
        return task_vector_model_dir(method, name.ability, seed, combine)
    if name.kind == "lswap":
        return layer_swap_path(name.ability, ".hf", seed)
    if name.kind == "joint":
        if joint_abilities(name.ability) != JOINT:
            raise ValueError(
                f"model {name}: experiments.beyond.joint gives the abilities {JOINT}"
            )
        return merged_model_dir(name.ability, None, seed)
    return None


def beyond_training_runs(name):
    """The runs a model of this file is counted to cost (#Tokens, ICER), or None."""
    if name.kind in COMBINED_TASK_VECTORS:
        experts = TASK_VECTOR_BASELINES[COMBINED_TASK_VECTORS[name.kind][0]]
    elif name.kind == "lswap":
        experts = LAYER_SWAP_EXPERTS
    elif name.kind == "joint":
        runs = {}
        for ability in joint_abilities(name.ability):
            runs |= maec_training_runs(ability)
        return runs
    else:
        return None
    return {baseline_run_dir(k, name.ability): baseline_tokens(k) for k in experts}


def beyond_entries(ability):
    """(model, label) of every row of beyond_{ability}: the backbone, the BEYOND_ROWS whose
    baselines are trained, then the joint model on this ability's benchmark."""
    trained = trained_baselines()
    entries = [("backbone", LABELS["backbone"])]
    entries += [
        (format_model(kind, ability, v), label)
        for label, kind, v, needs in BEYOND_ROWS
        if set(needs) <= trained
    ]
    if ability in JOINT:
        entries.append((joint_model_name(), f"MAEC {'+'.join(JOINT)}"))
    return entries


def get_beyond_scores(wildcards):
    models = [model for model, _ in beyond_entries(wildcards.ability)]
    return bench_scores(models, benchmark_of(wildcards.ability))


def get_beyond_score_seeds(wildcards):
    """The training seed of each beyond score file: the first seed's (docs/beyond.md)."""
    return [SEEDS[0]] * len(get_beyond_scores(wildcards))


def get_beyond_records(wildcards):
    return records_of(get_beyond_scores(wildcards))


def get_beyond_labels(wildcards):
    return dict(beyond_entries(wildcards.ability))


def get_beyond_order(wildcards):
    return [label for _, label in beyond_entries(wildcards.ability)]


def beyond_training(ability):
    """row label -> {benchmark: the run directories its model cost}."""
    bench = benchmark_of(ability)
    return {
        label: {bench: sorted(model_training_runs(model))}
        for model, label in beyond_entries(ability)
        if model_training_runs(model)
    }


def get_beyond_training(wildcards):
    return beyond_training(wildcards.ability)


def get_beyond_training_dirs(wildcards):
    return training_run_dirs(beyond_training(wildcards.ability))


def beyond_outputs():
    """The tables and figures of this file, for the `experiments` target."""
    abilities = BEYOND["abilities"] or ABILITIES
    return [
        path
        for a in abilities
        for path in (table(f"beyond_{a}"), figure(f"beyond_{a}"))
    ]
