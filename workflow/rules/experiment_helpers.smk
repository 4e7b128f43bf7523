# Input functions, params and tables of the experiments, for experiments.smk (the models:
# baselines, ablation deltas, merge variants, dev scores, the selection) and
# experiment_tables.smk (tables, figures and the `experiments` target). Rule files hold
# rules only (snakemake --lint).

import json

# ---- experiments.smk ---------------------------------------------------------------------

EXPERIMENTS = config["experiments"]

# Table 2 baselines: model kind -> (training method, what it trains on: the ability corpus
# and/or every general corpus, in this order).
BASELINE_RUNS = {
    "fcpt_la": ("full", ("ability", "general")),
    "fcpt_a": ("full", ("ability",)),
    "fcpt_l": ("full", ("general",)),
    "lcpt_la": ("lora", ("ability", "general")),
    "lcpt_a": ("lora", ("ability",)),
    "lcpt_l": ("lora", ("general",)),
}
# Task vectors (F-TV, L-TV): model kind -> training method. The model adds the task vectors
# of the method's ability-only and languages-only baselines to the backbone.
TASK_VECTORS = {"ftv": "full", "ltv": "lora"}
TASK_VECTOR_BASELINES = {"full": ("fcpt_a", "fcpt_l"), "lora": ("lcpt_a", "lcpt_l")}


def baseline_run(kind, ability):
    """The corpora a baseline trains on, joined by + (a run name)."""
    corpora = dict(
        ability=[ability_corpus(ability)],
        general=[general_corpus(lang) for lang in [L0, *LANGUAGES]],
    )
    return "+".join(c for part in BASELINE_RUNS[kind][1] for c in corpora[part])


def baseline_run_dir(kind, ability):
    return baseline_dir(BASELINE_RUNS[kind][0], baseline_run(kind, ability))


def baseline_model_dir(kind, ability):
    """Where a baseline model lives (for model_dir)."""
    if kind in BASELINE_RUNS:
        return baseline_run_dir(kind, ability)
    if kind in TASK_VECTORS:
        return task_vector_model_dir(TASK_VECTORS[kind], ability)
    raise ValueError(f"model {kind}_{ability}: the workflow builds no {kind!r} models")


def get_lora_training_params():
    baselines = EXPERIMENTS["baselines"]
    params = training_params(baselines["tokens"])
    params.update(
        lr=baselines["lora_lr"], lora=baselines["lora"], deepspeed_config=None
    )
    return params


def get_task_vector_ability_model(wildcards):
    return baseline_run_dir(
        TASK_VECTOR_BASELINES[wildcards.method][0], wildcards.ability
    )


def get_task_vector_language_model(wildcards):
    return baseline_run_dir(
        TASK_VECTOR_BASELINES[wildcards.method][1], wildcards.ability
    )


def variant_settings(ability, variant):
    """A merge variant's settings: what its name says (maec.naming), else the configured."""
    values = variant_values(variant)
    types = values.get("types")
    if types is not None and types not in EXPERIMENTS["tensor_types"]:
        raise ValueError(
            f"merge variant {variant!r}: cannot read 'types-{types}' "
            "(not a name of experiments.tensor_types)"
        )
    return dict(
        k2=values.get("k2", config["abilities"][ability]["k2"]),
        gamma=values.get("gamma", config["merge"]["gamma"]),
        eta=values.get("eta", config["merge"]["eta"]),
        mu=parse_variant(variant).get("mu"),  # as written: it names R_Lang's file
        types=None if types is None else EXPERIMENTS["tensor_types"][types],
        ability_weights="ability-plain" if "plain" in values else "ability",
        deltas="deltas-full" if "full" in values else "deltas",
    )


def get_variant_inputs(wildcards):
    v = variant_settings(wildcards.ability, wildcards.variant)
    return dict(
        backbone=BACKBONE,
        r_a=ability_delta(wildcards.ability, v["deltas"], v["ability_weights"]),
        r_lang=r_lang(v["deltas"], v["mu"]),
    )


def uniform_mu(mu):
    return {lang: float(mu) for lang in LANGUAGES}


def get_variant_settings(wildcards):
    """The merge's settings, and the μ of R_Lang that the merge checks its input against."""
    v = variant_settings(wildcards.ability, wildcards.variant)
    return dict(
        k2=v["k2"],
        gamma=v["gamma"],
        eta=v["eta"],
        types=v["types"],
        dtype=config["merge"]["dtype"],
        mu=get_mu() if v["mu"] is None else uniform_mu(v["mu"]),
    )


def get_uniform_mu(wildcards):
    return uniform_mu(wildcards.mu)


def selection_variants():
    """The selection grid as merge variants, in grid order."""
    grid = EXPERIMENTS["selection"]
    return [
        format_variant(dict(gamma=g, eta=e, k2=k, mu=m))
        for g in grid["gamma"]
        for e in grid["eta"]
        for k in grid["k2"]
        for m in grid["mu"]
    ]


def selection_dev(bench, lang):
    return EXPERIMENTS["selection"][f"{bench}_dev"].format(lang=lang)


def get_ability_bench(wildcards):
    return benchmark_of(wildcards.ability)


def get_selection_dev_scores(wildcards):
    ability = wildcards.ability
    models = [format_model("maec", ability)] + [
        format_model("maec", ability, variant) for variant in selection_variants()
    ]
    return bench_scores(models, benchmark_of(ability), dev=True)


# ---- experiment_tables.smk ---------------------------------------------------------------

# Figure 3: each ablation is a merge variant of MAEC (results/merged/{ability}/{variant}).
ABLATIONS = {
    "no_key_neurons": "full",
    "no_ability_weights": "plain-ra",
    "no_tensor_identification": "k2-1.0",
    "no_ability_combination": "k2-0.0",
}
# Table 2 rows, in the paper's order; per-ability baselines fill their ability's columns.
TABLE2 = {
    "backbone": "Backbone",
    "fcpt_la": "F-CPT_{L&A}",
    "lcpt_la": "L-CPT_{L&A}",
    "fcpt_a": "F-CPT_A",
    "fcpt_l": "F-CPT_L",
    "lcpt_l": "L-CPT_L",
    "ftv": "F-TV",
    "ltv": "L-TV",
    "maec": "MAEC",
}


def model_training_dirs(model):
    """The training runs whose tokens a model spent (for ICER)."""
    name = parse_model(model)
    if name.kind == "maec":
        return maec_training_runs(name.ability)
    if name.kind in BASELINE_RUNS:
        return [baseline_run_dir(name.kind, name.ability)]
    if name.kind in TASK_VECTORS:
        baselines = TASK_VECTOR_BASELINES[TASK_VECTORS[name.kind]]
        return [baseline_run_dir(kind, name.ability) for kind in baselines]
    return []


def table2_models():
    """Every Table 2 model with the benchmark it is scored on."""
    pairs = [("backbone", benchmark_of(a)) for a in ABILITIES]
    pairs += [
        (format_model(kind, a), benchmark_of(a))
        for kind in TABLE2
        if kind != "backbone"
        for a in ABILITIES
    ]
    return sorted(set(pairs))


def get_table2_scores():
    return [
        path
        for model, bench in table2_models()
        for path in bench_scores([model], bench)
    ]


def get_table2_labels():
    return {model: TABLE2[parse_model(model).kind] for model, _ in table2_models()}


def get_table2_training():
    dirs = {}
    for model, _ in table2_models():
        label = TABLE2[parse_model(model).kind]
        dirs.setdefault(label, set()).update(model_training_dirs(model))
    return {label: sorted(runs) for label, runs in dirs.items() if runs}


def get_selected_scores(wildcards):
    """Test scores of the paper-settings model and of the variant chosen on dev data."""
    ability = wildcards.ability
    chosen = checkpoints.select_hyperparameters.get(ability=ability).output[0]
    variant = json.loads(Path(chosen).read_text())["variant"]
    models = [
        "backbone",
        format_model("maec", ability),
        format_model("maec", ability, variant),
    ]
    return bench_scores(models, benchmark_of(ability))


def labelled_scores(ability, labelled_variants, with_default=True):
    models = (
        ["backbone"]
        + [format_model("maec", ability)] * with_default
        + [format_model("maec", ability, v) for v in labelled_variants.values()]
    )
    return bench_scores(models, benchmark_of(ability))


def variant_labels(ability, labelled_variants):
    labels = {"backbone": "Backbone", format_model("maec", ability): "MAEC"}
    labels |= {
        format_model("maec", ability, v): label
        for label, v in labelled_variants.items()
    }
    return labels


def ablation_variants():
    return {name.replace("_", " "): variant for name, variant in ABLATIONS.items()}


def get_ablation_scores(wildcards):
    return labelled_scores(wildcards.ability, ablation_variants())


def get_ablation_labels(wildcards):
    return variant_labels(wildcards.ability, ablation_variants())


def k2_variants():
    return {
        f"k2={fmt(k2)}": format_variant(dict(k2=k2)) for k2 in EXPERIMENTS["k2_grid"]
    }


def get_k2_scores(wildcards):
    return labelled_scores(wildcards.ability, k2_variants(), with_default=False)


def get_k2_labels(wildcards):
    return variant_labels(wildcards.ability, k2_variants())


def type_variants():
    return {
        name: format_variant(dict(types=name)) for name in EXPERIMENTS["tensor_types"]
    }


def get_type_scores(wildcards):
    return labelled_scores(wildcards.ability, type_variants())


def get_type_labels(wildcards):
    return variant_labels(wildcards.ability, type_variants())


def get_figure_title(wildcards):
    return f"{wildcards.ability} ({benchmark_of(wildcards.ability).upper()})"


def get_experiment_outputs():
    outputs = [table("table2")]
    for a in ABILITIES:
        outputs += [
            figure(f"ablation_{a}"),
            figure(f"k2_{a}"),
            table(f"tensor_types_{a}"),
            figure(f"layer_cosine_{a}"),
        ]
    outputs += [table(f"selection_{a}") for a in selection_abilities(config)]
    return outputs
