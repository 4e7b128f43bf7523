# Input functions, params and tables of the experiments, for experiments.smk (the models:
# baselines and their budgets, domain adaptation, reference models, ablation deltas, merge
# variants, dev scores, the selection, out-of-domain scores) and experiment_tables.smk
# (tables, figures, the token accounting and the `experiments` target). Rule files hold
# rules only (snakemake --lint).

import json

# ---- experiments.smk ---------------------------------------------------------------------

EXPERIMENTS = config["experiments"]

# Table 2 baselines: model kind -> (training method, what it trains on: the ability corpus,
# every general corpus and/or the ability's translated corpora, in this order).
BASELINE_RUNS = {
    "fcpt_la": ("full", ("ability", "general")),
    "fcpt_a": ("full", ("ability",)),
    "fcpt_l": ("full", ("general",)),
    "fcpt_lt": ("full", ("general", "translated")),
    "fcpt_t": ("full", ("translated",)),
    "lcpt_la": ("lora", ("ability", "general")),
    "lcpt_a": ("lora", ("ability",)),
    "lcpt_l": ("lora", ("general",)),
}
# Transfer learning (F/L-CPT_L & DA): model kind -> the baseline it starts from; domain
# adaptation continues it, with the same method, on the ability corpus.
ADAPTATIONS = {"fcpt_l_da": "fcpt_l", "lcpt_l_da": "lcpt_l"}
# Task vectors (F-TV, L-TV): model kind -> training method. The model adds the task vectors
# of the method's ability-only and languages-only baselines to the backbone.
TASK_VECTORS = {"ftv": "full", "ltv": "lora"}
TASK_VECTOR_BASELINES = {"full": ("fcpt_a", "fcpt_l"), "lora": ("lcpt_a", "lcpt_l")}


def baseline_corpora(kind, ability):
    parts = dict(
        ability=[ability_corpus(ability)],
        general=[general_corpus(lang) for lang in [L0, *LANGUAGES]],
        translated=translated_corpora(ability),
    )
    return [c for part in BASELINE_RUNS[kind][1] for c in parts[part]]


def has_baseline(kind, ability):
    """Whether the config lets the workflow build this model (the translated-corpus rows
    need translated corpora)."""
    if kind in ("fcpt_lt", "fcpt_t"):
        return bool(translated_corpora(ability))
    return True


def baseline_run(kind, ability):
    """The corpora a baseline trains on, joined by + (a run name)."""
    return "+".join(baseline_corpora(kind, ability))


def baseline_run_dir(kind, ability, seed=""):
    if kind in ADAPTATIONS:
        method = BASELINE_RUNS[ADAPTATIONS[kind]][0]
        return adaptation_dir(method, ability_corpus(ability), seed)
    return baseline_dir(BASELINE_RUNS[kind][0], baseline_run(kind, ability), seed)


def baseline_model_dir(kind, ability, seed=""):
    """Where a baseline model lives (for model_dir)."""
    if kind in BASELINE_RUNS or kind in ADAPTATIONS:
        if not has_baseline(kind, ability):
            raise ValueError(
                f"model {kind}_{ability}: abilities.{ability}.translated_corpora is empty"
            )
        return baseline_run_dir(kind, ability, seed)
    if kind in TASK_VECTORS:
        return task_vector_model_dir(TASK_VECTORS[kind], ability, seed)
    raise ValueError(f"model {kind}_{ability}: the workflow builds no {kind!r} models")


def baseline_kind(method, run):
    """The baseline kind whose run this is (run names spell their corpora, so one fits)."""
    for kind, (kind_method, _) in BASELINE_RUNS.items():
        if kind_method != method:
            continue
        for ability in ABILITIES:
            if has_baseline(kind, ability) and baseline_run(kind, ability) == run:
                return kind
    raise ValueError(
        f"{baseline_dir(method, run)}: no baseline of the config trains on {run}"
    )


def baseline_tokens(kind):
    return EXPERIMENTS["baselines"]["tokens"][kind]


def baseline_training_params(method, tokens, seed):
    params = training_params(tokens, seed)
    if method == "lora":
        baselines = EXPERIMENTS["baselines"]
        params.update(
            lr=baselines["lora_lr"], lora=baselines["lora"], deepspeed_config=None
        )
    return params


def get_baseline_training_params(wildcards):
    kind = baseline_kind(wildcards.method, wildcards.run)
    tokens = baseline_tokens(kind)
    return baseline_training_params(wildcards.method, tokens, wildcards.seed)


def adaptation_kind(method):
    return next(
        k for k, start in ADAPTATIONS.items() if BASELINE_RUNS[start][0] == method
    )


def get_adaptation_start(wildcards):
    """The model domain adaptation continues: the method's CPT on the general corpora."""
    start = ADAPTATIONS[adaptation_kind(wildcards.method)]
    return baseline_run_dir(start, wildcards.ability, wildcards.seed)


def get_adaptation_tokens(wildcards):
    return [token_blocks(ability_corpus(wildcards.ability))]


def get_adaptation_training_params(wildcards):
    kind = adaptation_kind(wildcards.method)
    tokens = baseline_tokens(kind)
    return baseline_training_params(wildcards.method, tokens, wildcards.seed)


def get_task_vector_ability_model(wildcards):
    kind = TASK_VECTOR_BASELINES[wildcards.method][0]
    return baseline_run_dir(kind, wildcards.ability, wildcards.seed)


def get_task_vector_language_model(wildcards):
    kind = TASK_VECTOR_BASELINES[wildcards.method][1]
    return baseline_run_dir(kind, wildcards.ability, wildcards.seed)


def get_full_training_params(wildcards):
    """The masked CPT runs' settings for the same runs on every entry (the ablation)."""
    return training_params(config["masked_cpt"]["tokens"], wildcards.seed)


def reference_model_dir(name):
    """A reference model: a workflow output (results/...) as it is; anything else, a hub id
    or a directory in the hub's layout, where its download (or link) lands, as the
    backbone's does."""
    models = EXPERIMENTS["reference_models"]
    if name not in models:
        raise ValueError(
            f"model reference-{name}: {name!r} is not in experiments.reference_models"
        )
    source = models[name]["source"]
    return source if source.startswith("results/") else reference_download_dir(name)


def get_reference_source(wildcards):
    return EXPERIMENTS["reference_models"][wildcards.name]["source"]


def variant_settings(ability, variant):
    """A merge variant's settings: what its name says (maec.workflow.naming), else the configured."""
    values = variant_values(variant)
    groups = {}
    for key in ("types", "within"):
        name = values.get(key)
        if name is not None and name not in EXPERIMENTS["tensor_types"]:
            raise ValueError(
                f"merge variant {variant!r}: cannot read '{key}-{name}' "
                "(not a name of experiments.tensor_types)"
            )
        groups[key] = None if name is None else EXPERIMENTS["tensor_types"][name]
    return dict(
        k2=values.get("k2", config["abilities"][ability]["k2"]),
        gamma=values.get("gamma", config["merge"]["gamma"]),
        eta=values.get("eta", config["merge"]["eta"]),
        mu=parse_variant(variant).get("mu"),  # as written: it names R_Lang's file
        types=groups["types"],
        within=groups["within"],
        ability_weights=(
            "ability-plain"
            if "plain" in values
            else "ability-revert" if "revert" in values else "ability"
        ),
        deltas="deltas-full" if "full" in values else "deltas",
        **variant_combine_settings(values),
    )


def get_variant_inputs(wildcards):
    v = variant_settings(wildcards.ability, wildcards.variant)
    seed = wildcards.seed
    inputs = dict(
        backbone=BACKBONE,
        r_a=ability_delta(wildcards.ability, v["deltas"], v["ability_weights"], seed),
        r_lang=r_lang(v["deltas"], v["mu"], seed),
    )
    if "combine" in v:
        inputs["languages"] = variant_combine_inputs(v["deltas"], seed)
    return inputs


def uniform_mu(mu):
    return {lang: float(mu) for lang in LANGUAGES}


def get_variant_settings(wildcards):
    """The merge's settings, and the μ of R_Lang that the merge checks its input against."""
    v = variant_settings(wildcards.ability, wildcards.variant)
    keys = ("k2", "gamma", "eta", "types", "within", "combine")
    settings = {key: v[key] for key in keys if key in v}
    mu = get_mu() if v["mu"] is None else uniform_mu(v["mu"])
    return {**settings, "dtype": config["merge"]["dtype"], "mu": mu}


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


def get_ability_average(wildcards):
    return config["abilities"][wildcards.ability]["average"]


def get_selection_dev_scores(wildcards):
    ability = wildcards.ability
    models = [format_model("maec", ability)] + [
        format_model("maec", ability, variant) for variant in selection_variants()
    ]
    return bench_scores(models, benchmark_of(ability), dev=True)


def get_selection_dev_records(wildcards):
    return records_of(get_selection_dev_scores(wildcards))


# ---- experiment_tables.smk ---------------------------------------------------------------

# Figure 3: each ablation is a merge variant of MAEC (results/merged/{ability}/{variant}).
ABLATIONS = {
    "no_key_neurons": "full",
    "no_ability_weights": "plain-ra",
    "no_tensor_identification": "k2-1.0",
    "no_ability_combination": "k2-0.0",
}
# Row labels of every model kind; experiments.rows orders Table 2's rows (the paper's order).
LABELS = {
    "backbone": "Backbone",
    "fcpt_la": "F-CPT_{L&A}",
    "lcpt_la": "L-CPT_{L&A}",
    "fcpt_a": "F-CPT_A",
    "lcpt_a": "L-CPT_A",
    "fcpt_l": "F-CPT_L",
    "lcpt_l": "L-CPT_L",
    "fcpt_l_da": "F-CPT_L & DA",
    "lcpt_l_da": "L-CPT_L & DA",
    "fcpt_lt": "F-CPT_{L&T}",
    "fcpt_t": "F-CPT_T",
    "ftv": "F-TV",
    "ltv": "L-TV",
    "maec": "MAEC",
}


def model_training_runs(model):
    """The training runs a model is counted to cost (#Tokens, ICER): run directory ->
    planned tokens. A model on top of other runs counts them too (a DA row its CPT_L run,
    a task-vector row both of its runs); docs/evaluation.md has the accounting."""
    name = parse_model(model)
    beyond = beyond_training_runs(name)
    if beyond is not None:
        return beyond
    if name.kind == "maec":
        return maec_training_runs(name.ability)
    if name.kind in BASELINE_RUNS:
        return {baseline_run_dir(name.kind, name.ability): baseline_tokens(name.kind)}
    if name.kind in ADAPTATIONS:
        start = ADAPTATIONS[name.kind]
        return {
            baseline_run_dir(start, name.ability): baseline_tokens(start),
            baseline_run_dir(name.kind, name.ability): baseline_tokens(name.kind),
        }
    if name.kind in TASK_VECTORS:
        baselines = TASK_VECTOR_BASELINES[TASK_VECTORS[name.kind]]
        return {
            baseline_run_dir(k, name.ability): baseline_tokens(k) for k in baselines
        }
    return {}


def reference_label(name):
    return EXPERIMENTS["reference_models"][name]["label"] or name


def table2_entries():
    """Every Table 2 model with its benchmark and row label, in row order: the reference
    models, the backbone, then experiments.rows (per ability, where the config allows).
    """
    entries = []
    for name in EXPERIMENTS["reference_models"]:
        model = format_model("reference", name=name)
        entries += [(model, benchmark_of(a), reference_label(name)) for a in ABILITIES]
    entries += [("backbone", benchmark_of(a), LABELS["backbone"]) for a in ABILITIES]
    for kind in EXPERIMENTS["rows"]:
        entries += [
            (format_model(kind, a), benchmark_of(a), LABELS[kind])
            for a in ABILITIES
            if has_baseline(kind, a)
        ]
    return list(dict.fromkeys(entries))


def table2_scores():
    """(seed, score file) of every Table 2 score, every seed's."""
    return [
        pair
        for model, bench, _ in table2_entries()
        for pair in seeded_scores([model], bench)
    ]


def get_table2_scores():
    return [path for _, path in table2_scores()]


def get_table2_score_seeds():
    return [seed for seed, _ in table2_scores()]


def get_table2_records():
    return records_of(get_table2_scores())


def get_table2_focus():
    """The row Table 2 compares with every other row (MAEC), if it has one."""
    return LABELS["maec"] if "maec" in EXPERIMENTS["rows"] else None


def get_table2_labels():
    return {model: label for model, _, label in table2_entries()}


def get_table2_order():
    return list(dict.fromkeys(label for _, _, label in table2_entries()))


def table2_runs():
    """(row label, ability, run directory, planned tokens) of every run Table 2 counts."""
    return [
        (label, parse_model(model).ability, run, tokens)
        for model, _, label in table2_entries()
        for run, tokens in model_training_runs(model).items()
    ]


def get_table2_training():
    """row label -> benchmark -> the training runs its model for that benchmark cost."""
    dirs = {}
    for label, ability, run, _ in table2_runs():
        dirs.setdefault(label, {}).setdefault(benchmark_of(ability), []).append(run)
    return dirs


def get_token_budget():
    """Table 2's accounting before any run: one record per row, ability and counted run."""
    return [
        dict(row=label, ability=ability, run=run, tokens=tokens)
        for label, ability, run, tokens in table2_runs()
    ]


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


def get_selected_records(wildcards):
    return records_of(get_selected_scores(wildcards))


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


def get_ablation_records(wildcards):
    return records_of(get_ablation_scores(wildcards))


def get_ablation_labels(wildcards):
    return variant_labels(wildcards.ability, ablation_variants())


def k2_variants():
    return {
        f"k2={fmt(k2)}": format_variant(dict(k2=k2)) for k2 in EXPERIMENTS["k2_grid"]
    }


def get_k2_scores(wildcards):
    return labelled_scores(wildcards.ability, k2_variants(), with_default=False)


def get_k2_records(wildcards):
    return records_of(get_k2_scores(wildcards))


def get_k2_labels(wildcards):
    return variant_labels(wildcards.ability, k2_variants())


def type_variants(key):
    """Merge variants per group of experiments.tensor_types: `types` (R(A) into every
    tensor of the group) or `within` (into the tensors of T of the group, Table 8)."""
    return {name: format_variant({key: name}) for name in EXPERIMENTS["tensor_types"]}


def get_merge_by_type_scores(wildcards):
    return labelled_scores(wildcards.ability, type_variants("types"))


def get_merge_by_type_labels(wildcards):
    return variant_labels(wildcards.ability, type_variants("types"))


def get_table8_scores(wildcards):
    return labelled_scores(wildcards.ability, type_variants("within"))


TABLE8_ALL = "All tensors"  # Table 8's row of the MAEC model itself (T whole)


def get_table8_labels(wildcards):
    labels = variant_labels(wildcards.ability, type_variants("within"))
    labels[format_model("maec", wildcards.ability)] = TABLE8_ALL
    return labels


def get_table8_average(wildcards):
    """The languages Table 8 averages: experiments.tensor_types_average, else the ability's."""
    ability = wildcards.ability
    return EXPERIMENTS["tensor_types_average"].get(
        ability, config["abilities"][ability]["average"]
    )


# ---- Table 3 (out-of-domain tasks) -------------------------------------------------------

OOD = EXPERIMENTS.get("ood")


def ood_models():
    """The backbone and the compared models (none without experiments.ood)."""
    if not OOD:
        return []
    return ["backbone"] + [format_model(kind, OOD["ability"]) for kind in OOD["models"]]


def get_ood_scores():
    return [ood_scores(model) for model in ood_models()]


def get_ood_labels():
    return {model: LABELS[parse_model(model).kind] for model in ood_models()}


def get_ood_settings():
    """experiments.ood without the models it compares (a job scores one model)."""
    return {
        key: value
        for key, value in (OOD or {}).items()
        if key not in ("ability", "models")
    }


def get_ood_task_files(wildcards):
    """The local data files of the tasks the config defines (so the DAG makes them first)."""
    files = []
    for task in OOD["tasks"].values():
        data_files = (
            task.get("definition", {}).get("dataset_kwargs", {}).get("data_files", {})
        )
        paths = data_files.values() if isinstance(data_files, dict) else [data_files]
        files += [p for p in paths if isinstance(p, str) and is_local_path(p)]
    return files


def get_seed_similarity_tables(wildcards):
    """S(τ) of the MAEC merge of every training seed (Figure 5b's spread across seeds)."""
    return [similarity_table(wildcards.ability, seed=seed_part(s)) for s in SEEDS]


def get_figure_title(wildcards):
    return f"{wildcards.ability} ({benchmark_of(wildcards.ability).upper()})"


def get_experiment_outputs():
    outputs = [table("table2"), table("table2_tokens")]
    if OOD:
        outputs.append(table("table3"))
    for a in ablation_abilities(config):
        outputs += [
            figure(f"ablation_{a}"),
            figure(f"k2_{a}"),
            table(f"table8_{a}"),
            table(f"merge_by_type_{a}"),
        ]
    outputs += [figure(f"layer_cosine_{a}") for a in ABILITIES]
    outputs += [table(f"selection_{a}") for a in selection_abilities(config)]
    return outputs + beyond_outputs()
