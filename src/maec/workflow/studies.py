"""The paper's experiments and the comparisons beyond it, as the models each table compares,
with their labels and costs: Table 2 and its token accounting, Figure 3's ablations,
Figure 4's k2 sweep, Table 8 and the merge-by-type table, the selection on dev scores,
Table 3 (out-of-domain tasks), the beyond table, and the targets that gather them. Pure
Python, functions of the validated config.
"""

from maec.workflow import corpora
from maec.workflow.benchmarks import definition_data_files
from maec.workflow.config_checks import ablation_abilities, selection_abilities
from maec.workflow.jobs import seed_dir_of, training_seeds
from maec.workflow.model_names import format_model, model_training_runs, parse_model
from maec.workflow.models import MODEL_KINDS, joint_abilities_of
from maec.workflow.naming import fmt, format_variant
from maec.workflow.paths import figure, merged_weights, similarity_table, table
from maec.workflow.scores import bench_scores, benchmark_of, seeded_scores
from maec.workflow.variants import selection_variants

# Figure 3: each ablation is a merge variant of MAEC (results/merged/{ability}/{variant}).
ABLATIONS = {
    "no_key_neurons": "full",
    "no_ability_weights": "plain-ra",
    "no_tensor_identification": "k2-1.0",
    "no_ability_combination": "k2-0.0",
}
TABLE8_ALL = "All tensors"  # Table 8's row of the MAEC model itself (T whole)
# The rows of beyond_{ability} (docs/beyond.md): (model kind, MAEC variant, label), a row
# whose label is None taking its kind's. A row whose baselines Table 2 does not train is
# left out; the joint model's row is added for the abilities it holds.
BEYOND_ROWS = [
    ("maec", None, None),
    ("maec", "combine-ties", "MAEC TIES"),
    ("maec", "combine-dare", "MAEC DARE"),
    ("maec", "revert", "MAEC revert"),
    ("maec", "full", "w/o key neurons"),
    ("ftv", None, None),
    ("ftv_ties", None, None),
    ("ftv_dare", None, None),
    ("ltv", None, None),
    ("ltv_ties", None, None),
    ("ltv_dare", None, None),
    ("lswap", None, None),
]


def label_of(kind: str) -> str:
    """A model kind's row label (`MODEL_KINDS`)."""
    return MODEL_KINDS[kind].label


# ---- Table 2 ------------------------------------------------------------------------------


def reference_label(config, name: str) -> str:
    return config["experiments"]["reference_models"][name]["label"] or name


def table2_entries(config) -> list[tuple[str, str, str]]:
    """Every Table 2 model with its benchmark and row label, in row order: the reference
    models, the backbone, then experiments.rows (per ability, where the config allows)."""
    abilities = list(config["abilities"])
    entries = []
    for name in config["experiments"]["reference_models"]:
        model = format_model("reference", name=name)
        label = reference_label(config, name)
        entries += [(model, benchmark_of(config, a), label) for a in abilities]
    entries += [("backbone", benchmark_of(config, a), label_of("backbone")) for a in abilities]
    for kind in config["experiments"]["rows"]:
        spec = MODEL_KINDS[kind]
        entries += [
            (format_model(kind, a), benchmark_of(config, a), spec.label)
            for a in abilities
            if spec.available(config, a)
        ]
    return list(dict.fromkeys(entries))


def table2_scores(config) -> list[tuple[int, str]]:
    """(seed, score file) of every Table 2 score, every seed's."""
    return [
        pair
        for model, bench, _ in table2_entries(config)
        for pair in seeded_scores(config, [model], bench)
    ]


def table2_labels(config) -> dict[str, str]:
    return {model: label for model, _, label in table2_entries(config)}


def table2_order(config) -> list[str]:
    return list(dict.fromkeys(label for _, _, label in table2_entries(config)))


def table2_focus(config) -> str | None:
    """The row Table 2 compares with every other row (MAEC), if it has one."""
    return MODEL_KINDS["maec"].label if "maec" in config["experiments"]["rows"] else None


def table2_runs(config) -> list[tuple[str, str, str, int]]:
    """(row label, ability, run directory, planned tokens) of every run Table 2 counts."""
    return [
        (label, parse_model(model).ability, run, tokens)
        for model, _, label in table2_entries(config)
        for run, tokens in model_training_runs(config, model).items()
    ]


def table2_training(config) -> dict[str, dict[str, list[str]]]:
    """row label -> benchmark -> the training runs its model for that benchmark cost."""
    dirs = {}
    for label, ability, run, _ in table2_runs(config):
        dirs.setdefault(label, {}).setdefault(benchmark_of(config, ability), []).append(run)
    return dirs


def token_budget(config) -> list[dict]:
    """Table 2's accounting before any run: one record per row, ability and counted run."""
    return [
        dict(row=label, ability=ability, run=run, tokens=tokens)
        for label, ability, run, tokens in table2_runs(config)
    ]


# ---- the per-ability studies: ablations, k2, tensor types ---------------------------------


def ablation_variants(config) -> dict[str, str]:
    return {name.replace("_", " "): variant for name, variant in ABLATIONS.items()}


def k2_variants(config) -> dict[str, str]:
    return {f"k2={fmt(k2)}": format_variant(dict(k2=k2)) for k2 in config["experiments"]["k2_grid"]}


def type_variants(key: str):
    """Merge variants per group of experiments.tensor_types: `types` (R(A) into every
    tensor of the group) or `within` (into the tensors of T of the group, Table 8)."""

    def variants(config) -> dict[str, str]:
        return {name: format_variant({key: name}) for name in config["experiments"]["tensor_types"]}

    return variants


# study -> (its merge variants of MAEC by label, whether MAEC itself is a row): Figure 3,
# Figure 4, the merge-by-type table and Table 8. Each compares them with the backbone.
STUDIES = {
    "ablation": (ablation_variants, True),
    "k2": (k2_variants, False),
    "merge_by_type": (type_variants("types"), True),
    "table8": (type_variants("within"), True),
}


def study_labels(config, study: str, ability: str) -> dict[str, str]:
    """model -> row label of a study's table, in row order: the backbone, MAEC (Table 8's
    row of the MAEC model itself is `TABLE8_ALL`), then the variants."""
    variants, _ = STUDIES[study]
    maec = format_model("maec", ability)
    labels = {"backbone": label_of("backbone")}
    labels[maec] = TABLE8_ALL if study == "table8" else label_of("maec")
    return labels | {
        format_model("maec", ability, v): label for label, v in variants(config).items()
    }


def study_scores(config, study: str, ability: str) -> list[str]:
    """The score files of a study's models: MAEC's only where it is a row."""
    _, with_maec = STUDIES[study]
    models = [
        model
        for model in study_labels(config, study, ability)
        if with_maec or model != format_model("maec", ability)
    ]
    return bench_scores(config, models, benchmark_of(config, ability))


def table8_average(config, ability):
    """The languages Table 8 averages: experiments.tensor_types_average, else the ability's."""
    average = config["experiments"]["tensor_types_average"]
    return average.get(ability, config["abilities"][ability]["average"])


def selection_dev_scores(config, ability) -> list[str]:
    """The dev scores of MAEC and of every variant of the selection grid."""
    models = [format_model("maec", ability)] + [
        format_model("maec", ability, variant) for variant in selection_variants(config)
    ]
    return bench_scores(config, models, benchmark_of(config, ability), dev=True)


def selected_scores(config, ability, variant) -> list[str]:
    """Test scores of the backbone, the paper-settings model and the variant chosen on dev."""
    models = ["backbone", format_model("maec", ability), format_model("maec", ability, variant)]
    return bench_scores(config, models, benchmark_of(config, ability))


def seed_similarity_tables(config, ability) -> list[str]:
    """S(τ) of the MAEC merge of every training seed (the layer cosines' spread)."""
    return [
        similarity_table(ability, seed_dir=seed_dir_of(config, s)) for s in training_seeds(config)
    ]


def figure5_corpora(config) -> list[str]:
    """Figure 5b and 5c compare the importance CPT runs (full CPT of the backbone on one
    corpus each) of these corpora: experiments.figure5.corpora, else every corpus of the
    method."""
    return config["experiments"]["figure5"]["corpora"] or corpora.all_corpora(config)


def figure5_pairs(config) -> list[tuple[str, str]]:
    """Figure 5b's pairs: the first of `figure5_corpora` (by default the reference
    language's general corpus, as the paper's English Reddit) with each other one."""
    first, *others = figure5_corpora(config)
    return [(first, other) for other in others]


def figure5_runs(config) -> list[str]:
    """Figure 5a's masked CPT runs, each against the same run trained on every entry:
    experiments.figure5.runs, else the reference run and each ability's run."""
    listed = config["experiments"]["figure5"]["runs"]
    if listed:
        return listed
    abilities = [corpora.ability_run(config, a) for a in config["abilities"]]
    return [corpora.reference_run(config), *abilities]


def table6_corpora(config) -> list[str]:
    """Table 6's corpora: those the method trains on and every translated ability corpus."""
    translated = [c for a in config["abilities"] for c in corpora.translated_corpora(config, a)]
    return corpora.all_corpora(config) + translated


def table6_scores(config) -> list[str]:
    """The backbone's score files: each benchmark's items per language as scored."""
    benches = sorted({benchmark_of(config, a) for a in config["abilities"]})
    return [path for bench in benches for path in bench_scores(config, ["backbone"], bench)]


def figure_title(config, ability) -> str:
    return f"{ability} ({benchmark_of(config, ability).upper()})"


# ---- Table 3 (out-of-domain tasks) -------------------------------------------------------


def ood_models(config) -> list[str]:
    """The backbone and the compared models (none without experiments.ood)."""
    ood = config["experiments"].get("ood")
    if not ood:
        return []
    return ["backbone"] + [format_model(kind, ood["ability"]) for kind in ood["models"]]


def ood_labels(config) -> dict[str, str]:
    return {model: label_of(parse_model(model).kind) for model in ood_models(config)}


def ood_settings(config) -> dict:
    """experiments.ood without the models it compares (a job scores one model)."""
    ood = config["experiments"].get("ood") or {}
    return {key: value for key, value in ood.items() if key not in ("ability", "models")}


def ood_task_files(config) -> list[str]:
    """The local data files of the tasks the config defines (so the DAG makes them first)."""
    return [
        path
        for task in config["experiments"]["ood"]["tasks"].values()
        for path in definition_data_files(task.get("definition", {}))
    ]


# ---- beyond the paper -----------------------------------------------------------------------


def trained_baselines(config) -> set[str]:
    """The kinds of Table 2's rows (experiments.rows) and the baselines they train: a row on
    top of other runs (task vectors, domain adaptation) trains those too. The comparisons
    beyond the paper train nothing more."""
    rows = config["experiments"]["rows"]
    return set(rows).union(*(MODEL_KINDS[kind].baselines() for kind in rows))


def beyond_entries(config, ability) -> list[tuple[str, str]]:
    """(model, label) of every row of beyond_{ability}: the backbone, the BEYOND_ROWS whose
    baselines are trained, then the joint model on this ability's benchmark."""
    trained = trained_baselines(config)
    entries = [("backbone", label_of("backbone"))]
    for kind, variant, label in BEYOND_ROWS:
        if set(MODEL_KINDS[kind].baselines()) <= trained:
            entries.append((format_model(kind, ability, variant), label or label_of(kind)))
    joint = joint_abilities_of(config)
    if ability in joint:
        name = "+".join(joint)
        entries.append((format_model("joint", name), f"{label_of('maec')} {name}"))
    return entries


def beyond_scores(config, ability) -> list[str]:
    models = [model for model, _ in beyond_entries(config, ability)]
    return bench_scores(config, models, benchmark_of(config, ability))


def beyond_training(config, ability) -> dict[str, dict[str, list[str]]]:
    """row label -> {benchmark: the run directories its model cost}."""
    bench = benchmark_of(config, ability)
    return {
        label: {bench: sorted(model_training_runs(config, model))}
        for model, label in beyond_entries(config, ability)
        if model_training_runs(config, model)
    }


def beyond_abilities(config) -> list[str]:
    return config["experiments"]["beyond"]["abilities"] or list(config["abilities"])


# ---- targets ------------------------------------------------------------------------------


def experiment_outputs(config) -> list[str]:
    """Every table and figure of the `experiments` target, and the written merge variants
    when experiments.keep_variants asks for them."""
    outputs = [table("table2"), table("table2_tokens")]
    if config["experiments"].get("ood"):
        outputs.append(table("table3"))
    for a in ablation_abilities(config):
        outputs += [
            figure(f"ablation_{a}"),
            figure(f"k2_{a}"),
            table(f"table8_{a}"),
            table(f"merge_by_type_{a}"),
        ]
    outputs += [figure(f"layer_cosine_ra_rlang_{a}") for a in config["abilities"]]
    outputs += [figure(f"figure5{panel}") for panel in ("a", "b", "c")] + [table("table6")]
    outputs += [table(f"selection_{a}") for a in selection_abilities(config)]
    outputs += [
        path
        for a in beyond_abilities(config)
        for path in (table(f"beyond_{a}"), figure(f"beyond_{a}"))
    ]
    return outputs + kept_variants(config)


def scored_variants(config) -> list[str]:
    """Every merge variant the studies score, as model names: the ablations, the k2 sweep and
    the tensor-type merges, the beyond table's and the selection grid."""
    models = [
        format_model("maec", a, variant)
        for a in ablation_abilities(config)
        for variants, _ in STUDIES.values()
        for variant in variants(config).values()
    ]
    models += [
        model
        for a in beyond_abilities(config)
        for model, _ in beyond_entries(config, a)
        if parse_model(model).variant is not None
    ]
    models += [
        format_model("maec", a, variant)
        for a in selection_abilities(config)
        for variant in selection_variants(config)
    ]
    return list(dict.fromkeys(models))


def kept_variants(config) -> list[str]:
    """The written merge variants of every seed, when experiments.keep_variants asks for them."""
    if not config["experiments"]["keep_variants"]:
        return []
    return [
        merged_weights(name.ability, name.variant, seed_dir_of(config, s))
        for name in map(parse_model, scored_variants(config))
        for s in training_seeds(config)
    ]


def final_outputs(config) -> list[str]:
    """The default target: every seed's MAEC models, the diagnostics, the results table and
    its picture per ability."""
    abilities = list(config["abilities"])
    return (
        [
            merged_weights(a, seed_dir=seed_dir_of(config, s))
            for s in training_seeds(config)
            for a in abilities
        ]
        + [table(f"diagnostics_{a}", "csv") for a in abilities]
        + [table("results", "csv"), table("results", "md")]
        + [figure(f"results_{a}") for a in abilities]
    )
