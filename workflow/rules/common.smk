import json
import os
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# The package lives in src/; putting it on PYTHONPATH makes it importable in every job
# (local, Slurm, or a conda environment from envs/) even without `pip install -e .`.
# Jobs inherit this process's environment; nothing is asked of the user.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [str(Path(workflow.basedir) / "src"), os.getenv("PYTHONPATH")])
    )
)


validate(config, schema="../schemas/config.schema.yaml")


def check_config_consistency(config):
    """What a JSON schema cannot say: every language and ability has what it needs."""
    l0 = config["reference_language"]
    for lang in [l0, *config["languages"]]:
        if lang not in config["general_corpora"]:
            raise ValueError(
                f"config: general_corpora.{lang} is missing: every language "
                f"(reference_language and languages) needs a general corpus"
            )
    if l0 in config["languages"]:
        raise ValueError(
            f"config: languages lists the reference language {l0!r}; "
            "list only the target languages L1..Ln"
        )
    for lang in config["language_weights"].get("mu", {}):
        if lang not in config["languages"]:
            raise ValueError(
                f"config: language_weights.mu.{lang} names a language not in languages"
            )
    for ability in config["abilities"]:
        if not ability.isalnum():  # names join with "_" into corpus and model names
            raise ValueError(
                f"config: abilities.{ability}: an ability name is letters and digits only"
            )
    for ability in config["experiments"]["selection"].get("abilities", []):
        if ability not in config["abilities"]:
            raise ValueError(
                f"config: experiments.selection.abilities names {ability!r}, "
                "which is not in abilities"
            )


check_config_consistency(config)


L0 = config["reference_language"]
LANGUAGES = config["languages"]
ABILITIES = list(config["abilities"])
IS_DEMO = "world" in config
MGSM_LANGUAGES = config["evaluation"]["mgsm"]["languages"]
MMLU_LANGUAGES = config["evaluation"]["mmlu"]["languages"]


wildcard_constraints:
    corpus="[A-Za-z0-9]+_[A-Za-z0-9]+",
    run="[A-Za-z0-9_+]+",
    ability="|".join(ABILITIES),
    lang="[A-Za-z_-]+",
    model="[A-Za-z0-9_.,-]+",
    deltas="deltas|deltas-full",
    variant="[A-Za-z0-9_.,-]+",
    split="dev|val|test",
    mu="[0-9.]+",
    method="full|lora",


# ---- corpora and token blocks ------------------------------------------------------------


def general_corpus(lang):
    return f"general_{lang}"


def ability_corpus(ability):
    return f"{ability}_{L0}"


def all_corpora():
    return [general_corpus(lang) for lang in [L0, *LANGUAGES]] + [
        ability_corpus(a) for a in ABILITIES
    ]


def corpus_config(corpus):
    kind, lang = corpus.split("_", 1)
    if kind == "general":
        return config["general_corpora"][lang]
    return config["abilities"][kind]["corpus"]


def is_local_path(source):
    return (
        os.path.isabs(source)
        or source.startswith(("results/", "./", "../"))
        or Path(source).exists()
    )


def get_corpus_source(wildcards):
    """The corpus file when it is local (so the DAG connects it), else nothing (a hub id)."""
    source = corpus_config(wildcards.corpus)["source"]
    return [source] if is_local_path(source) else []


def get_corpus_params(wildcards):
    corpus = corpus_config(wildcards.corpus)
    return dict(
        source=corpus["source"],
        name=corpus.get("name"),
        split=corpus.get("split", "train"),
        text_field=corpus.get("text_field", "text"),
    )


def tokens_of(corpus):
    return f"results/tokens/{corpus}.npy"


# ---- the demo world ---------------------------------------------------------------------

WORLD = "results/world"


def world_outputs():
    """Every file the world generator writes that a later rule reads."""
    if not IS_DEMO:
        return []
    corpora = [corpus_config(c)["source"] for c in all_corpora()]
    mgsm = config["evaluation"]["mgsm"]
    mmlu = config["evaluation"]["mmlu"]
    benchmarks = [mgsm["exemplars"]]
    for lang in mgsm["languages"]:
        benchmarks.append(mgsm["questions"].format(lang=lang))
    for lang in mmlu["languages"]:
        benchmarks += [mmlu["test"].format(lang=lang), mmlu["dev"].format(lang=lang)]
    selection = config["experiments"]["selection"]
    benchmarks += [
        selection["mgsm_dev"].format(lang=lang) for lang in mgsm["languages"]
    ]
    benchmarks += [
        selection["mmlu_dev"].format(lang=lang) for lang in mmlu["languages"]
    ]
    outputs = sorted(set(corpora + benchmarks))
    outside = [p for p in outputs if not p.startswith(f"{WORLD}/")]
    if outside:
        raise ValueError(
            f"config: with `world` set, corpora and benchmarks must lie under {WORLD}/; "
            f"these do not: {outside}"
        )
    return outputs


def get_pretrain_params():
    pretrain = config["world"]["pretrain"]
    params = training_params(pretrain["tokens"])
    params.update(
        lr=pretrain["lr"],
        batch_tokens=pretrain["batch_tokens"],
        micro_batch_size=pretrain["micro_batch_size"],
        warmup_steps=pretrain.get("warmup_steps", 0),
        lr_schedule=pretrain.get("lr_schedule", "constant"),
    )
    return params


# ---- models -------------------------------------------------------------------------------

BACKBONE = "results/backbone"


def get_tokenizer_dir():
    return "results/tokenizer" if IS_DEMO else BACKBONE


def merged_weights(ability):
    return f"results/merged/{ability}.safetensors"


def merged_model_dir(ability):
    return f"results/merged/{ability}.hf"


def get_model_dir(wildcards):
    return model_dir(wildcards.model)


# ---- training runs ------------------------------------------------------------------------


def training_params(tokens):
    t = config["training"]
    return dict(
        lr=t["lr"],
        total_tokens=tokens,
        batch_tokens=t["batch_tokens"],
        micro_batch_size=t["micro_batch_size"],
        precision=t.get("precision", "fp32"),
        weight_decay=t.get("weight_decay", 0.0),
        warmup_steps=t.get("warmup_steps", 0),
        lr_schedule=t.get("lr_schedule", "constant"),
        save_every_steps=t["save_every_steps"],
        seed=t.get("seed", 0),
        deepspeed_config=t.get("deepspeed_config"),
    )


def ability_run(ability):
    """Θ_{A,L0}: masked CPT on the ability corpus mixed with the reference general corpus."""
    return f"{ability_corpus(ability)}+{general_corpus(L0)}"


def reference_run():
    """Θ_{L0}: masked CPT on the reference general corpus."""
    return general_corpus(L0)


def language_run(lang):
    """Θ_{Li,L0} (language_delta eq2) or Θ_{Li} (plain)."""
    if config["language_weights"].get("mode", "eq2") == "eq2":
        return f"{general_corpus(lang)}+{general_corpus(L0)}"
    return general_corpus(lang)


def run_corpora(run):
    return run.split("+")


def corpus_role(corpus):
    kind, lang = corpus.split("_", 1)
    if kind != "general":
        return "ability"
    return "reference" if lang == L0 else "language"


def get_run_tokens(wildcards):
    return [tokens_of(c) for c in run_corpora(wildcards.run)]


def get_run_mixture(wildcards):
    weights = config["masked_cpt"].get("mixture", {})
    return [weights.get(corpus_role(c), 1.0) for c in run_corpora(wildcards.run)]


def get_run_mask(wildcards):
    """A run trains the union of its corpora's key neurons (N_A ∪ N_L0, N_Li ∪ N_L0, N_L0)."""
    corpora = run_corpora(wildcards.run)
    if len(corpora) == 1:
        return f"results/masks/{corpora[0]}.safetensors"
    return f"results/masks/union/{wildcards.run}.safetensors"


def get_union_members(wildcards):
    return [f"results/masks/{c}.safetensors" for c in run_corpora(wildcards.run)]


def cpt_dir(run, deltas="deltas"):
    """Masked CPT runs feed results/deltas; the same runs trained on every entry (the
    "without key-neuron locating" ablation) feed results/deltas-full."""
    return f"results/cpt/{run}" if deltas == "deltas" else f"results/cpt-full/{run}"


# ---- deltas -------------------------------------------------------------------------------


def get_ability_delta_inputs(wildcards):
    return dict(
        backbone=BACKBONE,
        ability_model=cpt_dir(ability_run(wildcards.ability), wildcards.deltas),
        general_model=cpt_dir(reference_run(), wildcards.deltas),
    )


def get_language_delta_inputs(wildcards):
    inputs = dict(
        backbone=BACKBONE,
        language_model=cpt_dir(language_run(wildcards.lang), wildcards.deltas),
    )
    if config["language_weights"].get("mode", "eq2") == "eq2":
        inputs["general_model"] = cpt_dir(reference_run(), wildcards.deltas)
    return inputs


def get_language_deltas(wildcards):
    return [language_delta(lang, wildcards.deltas) for lang in LANGUAGES]


def language_delta(lang, deltas="deltas"):
    return f"results/{deltas}/language/{lang}.safetensors"


def ability_delta(ability, deltas="deltas", kind="ability"):
    return f"results/{deltas}/{kind}/{ability}.safetensors"


def r_lang(deltas="deltas", mu=None):
    if mu is None:
        return f"results/{deltas}/r_lang.safetensors"
    return f"results/{deltas}/r_lang-mu-{mu}.safetensors"


R_LANG = r_lang()


def get_mu():
    mu = config["language_weights"].get("mu", {})
    return {lang: float(mu.get(lang, 1.0)) for lang in LANGUAGES}


# ---- evaluation ---------------------------------------------------------------------------


def benchmark_of(ability):
    return config["abilities"][ability]["benchmark"]


def mgsm_questions(lang):
    return config["evaluation"]["mgsm"]["questions"].format(lang=lang)


def mmlu_file(split, lang):
    return config["evaluation"]["mmlu"][split].format(lang=lang)


def eval_models():
    return ["backbone"] + [f"maec_{a}" for a in ABILITIES]


def eval_scores_of(model):
    """The score files a model is evaluated on: the backbone on every benchmark, a merged
    model on the benchmark of its ability."""
    if model == "backbone":
        benches = {benchmark_of(a) for a in ABILITIES}
    else:
        benches = {benchmark_of(model.partition("_")[2])}
    return [
        f"results/eval/{model}/{bench}_{lang}.json"
        for bench in sorted(benches)
        for lang in config["evaluation"][bench]["languages"]
    ]


def get_all_scores():
    return [path for model in eval_models() for path in eval_scores_of(model)]


def maec_training_runs(ability):
    """Every CPT run whose tokens MAEC spends for one ability (for ICER)."""
    importance = [ability_corpus(ability)] + [
        general_corpus(lang) for lang in [L0, *LANGUAGES]
    ]
    masked = [ability_run(ability), reference_run()] + [
        language_run(lang) for lang in LANGUAGES
    ]
    return [f"results/importance/{c}" for c in importance] + [
        cpt_dir(r) for r in masked
    ]


def get_model_labels():
    """Table rows: one MAEC row holds each ability's merged model on its own benchmark."""
    return {"backbone": "backbone"} | {f"maec_{a}": "MAEC" for a in ABILITIES}


def get_training_dirs():
    """Training runs per table row, for ICER: MAEC counts every run of every ability once."""
    runs = [run for a in ABILITIES for run in maec_training_runs(a)]
    return {"MAEC": sorted(set(runs))}


# ---- experiments ----------------------------------------------------------------------

EXPERIMENTS = config["experiments"]

# Figure 3: each ablation is a variant of the MAEC merge (results/merged/{ability}/{variant}).
ABLATIONS = {
    "no_key_neurons": "full",
    "no_ability_weights": "plain-ra",
    "no_tensor_identification": "k2-1.0",
    "no_ability_combination": "k2-0.0",
}


def parse_variant(ability, variant):
    """A merge variant's settings from its name: `,`-joined `key-value` parts, e.g.
    `k2-0.6`, `gamma-0.5,eta-1.0,k2-0.8,mu-1.2`, `types-mlp`, `plain-ra`, `full`."""
    settings = dict(
        k2=config["abilities"][ability]["k2"],
        gamma=config["merge"]["gamma"],
        eta=config["merge"]["eta"],
        mu=None,
        types=None,
        ability_weights="ability",
        deltas="deltas",
    )
    for part in variant.split(","):
        key, _, value = part.partition("-")
        if part == "full":
            settings["deltas"] = "deltas-full"
        elif part == "plain-ra":
            settings["ability_weights"] = "ability-plain"
        elif key in ("k2", "gamma", "eta", "mu") and value:
            settings[key] = value if key == "mu" else float(value)
        elif key == "types" and value in EXPERIMENTS["tensor_types"]:
            settings["types"] = EXPERIMENTS["tensor_types"][value]
        else:
            raise ValueError(f"merge variant {variant!r}: cannot read {part!r}")
    return settings


def variant_dir(ability, variant):
    return f"results/merged/{ability}/{variant}"


def get_variant_inputs(wildcards):
    v = parse_variant(wildcards.ability, wildcards.variant)
    return dict(
        backbone=BACKBONE,
        r_a=ability_delta(wildcards.ability, v["deltas"], v["ability_weights"]),
        r_lang=r_lang(v["deltas"], v["mu"]),
    )


def get_variant_settings(wildcards):
    v = parse_variant(wildcards.ability, wildcards.variant)
    return dict(k2=v["k2"], gamma=v["gamma"], eta=v["eta"], types=v["types"])


def fmt(value):
    return f"{float(value):g}" if float(value) != int(value) else f"{float(value):.1f}"


def selection_variants():
    grid = EXPERIMENTS["selection"]
    return [
        f"gamma-{fmt(g)},eta-{fmt(e)},k2-{fmt(k)},mu-{fmt(m)}"
        for g in grid["gamma"]
        for e in grid["eta"]
        for k in grid["k2"]
        for m in grid["mu"]
    ]


def general_all_run():
    return "+".join(general_corpus(lang) for lang in [L0, *LANGUAGES])


BASELINE_RUNS = {
    "fcpt_la": ("full", lambda a: f"{ability_corpus(a)}+{general_all_run()}"),
    "fcpt_a": ("full", lambda a: ability_corpus(a)),
    "fcpt_l": ("full", lambda a: general_all_run()),
    "lcpt_la": ("lora", lambda a: f"{ability_corpus(a)}+{general_all_run()}"),
    "lcpt_a": ("lora", lambda a: ability_corpus(a)),
    "lcpt_l": ("lora", lambda a: general_all_run()),
}
TASK_VECTORS = {"ftv": "full", "ltv": "lora"}
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


def baseline_run_dir(kind, ability):
    method, run = BASELINE_RUNS[kind]
    return f"results/baselines/{method}/{run(ability)}"


def task_vector_dir(kind, ability):
    return f"results/baselines/tv/{TASK_VECTORS[kind]}_{ability}"


def model_dir(model):
    """Where an evaluated model lives. `backbone`; `maec_{ability}` and its variants
    `maec_{ability}.{variant}`; baselines `{kind}_{ability}` (kinds of BASELINE_RUNS and
    TASK_VECTORS)."""
    if model == "backbone":
        return BACKBONE
    name, _, variant = model.partition(".")
    kind, _, ability = name.rpartition("_")
    if ability not in ABILITIES:
        raise ValueError(f"unknown model {model!r} (no ability in its name)")
    if kind == "maec":
        if variant:
            parse_variant(ability, variant)
            return f"{variant_dir(ability, variant)}.hf"
        return merged_model_dir(ability)
    if kind in BASELINE_RUNS and not variant:
        return baseline_run_dir(kind, ability)
    if kind in TASK_VECTORS and not variant:
        return f"{task_vector_dir(kind, ability)}.hf"
    raise ValueError(f"unknown model {model!r}")


def model_training_dirs(model):
    """The training runs whose tokens a model spent (for ICER)."""
    name, _, variant = model.partition(".")
    kind, _, ability = name.rpartition("_")
    if kind == "maec":
        return maec_training_runs(ability)
    if kind in BASELINE_RUNS:
        return [baseline_run_dir(kind, ability)]
    if kind in TASK_VECTORS:
        lora = TASK_VECTORS[kind] == "lora"
        return [
            baseline_run_dir("lcpt_a" if lora else "fcpt_a", ability),
            baseline_run_dir("lcpt_l" if lora else "fcpt_l", ability),
        ]
    return []


def scores_of(models, bench):
    return [
        f"results/eval/{model}/{bench}_{lang}.json"
        for model in models
        for lang in config["evaluation"][bench]["languages"]
    ]


def table2_models():
    """Every Table 2 model with the benchmark it is scored on."""
    pairs = [("backbone", benchmark_of(a)) for a in ABILITIES]
    pairs += [
        (f"{kind}_{a}", benchmark_of(a))
        for kind in TABLE2
        if kind != "backbone"
        for a in ABILITIES
    ]
    return sorted(set(pairs))


def get_table2_scores():
    return [
        path for model, bench in table2_models() for path in scores_of([model], bench)
    ]


def get_table2_labels():
    return {
        model: TABLE2[model.rpartition("_")[0] or model] for model, _ in table2_models()
    }


def get_table2_training():
    dirs = {}
    for model, _ in table2_models():
        label = TABLE2[model.rpartition("_")[0] or model]
        dirs.setdefault(label, set()).update(model_training_dirs(model))
    return {label: sorted(runs) for label, runs in dirs.items() if runs}


def get_lora_training_params():
    baselines = EXPERIMENTS["baselines"]
    params = training_params(baselines["tokens"])
    params.update(
        lr=baselines["lora_lr"], lora=baselines["lora"], deepspeed_config=None
    )
    return params


def get_uniform_mu(wildcards):
    return {lang: float(wildcards.mu) for lang in LANGUAGES}


def get_task_vector_ability_model(wildcards):
    kind = "fcpt_a" if wildcards.method == "full" else "lcpt_a"
    return baseline_run_dir(kind, wildcards.ability)


def get_task_vector_language_model(wildcards):
    kind = "fcpt_l" if wildcards.method == "full" else "lcpt_l"
    return baseline_run_dir(kind, wildcards.ability)


def selection_dev(bench, lang):
    return EXPERIMENTS["selection"][f"{bench}_dev"].format(lang=lang)


def get_ability_bench(wildcards):
    return benchmark_of(wildcards.ability)


def get_selection_dev_scores(wildcards):
    bench = benchmark_of(wildcards.ability)
    models = [f"maec_{wildcards.ability}"] + [
        f"maec_{wildcards.ability}.{variant}" for variant in selection_variants()
    ]
    return [
        f"results/eval-dev/{model}/{bench}_{lang}.json"
        for model in models
        for lang in config["evaluation"][bench]["languages"]
    ]


def get_selected_scores(wildcards):
    """Test scores of the paper-settings model and of the variant chosen on dev data."""
    chosen = checkpoints.select_hyperparameters.get(ability=wildcards.ability).output[0]
    variant = json.loads(Path(chosen).read_text())["variant"]
    bench = benchmark_of(wildcards.ability)
    return scores_of(
        [
            "backbone",
            f"maec_{wildcards.ability}",
            f"maec_{wildcards.ability}.{variant}",
        ],
        bench,
    )


def _labelled_scores(ability, labelled_variants, with_default=True):
    bench = benchmark_of(ability)
    models = (
        ["backbone"]
        + [f"maec_{ability}"] * with_default
        + [f"maec_{ability}.{variant}" for variant in labelled_variants.values()]
    )
    return scores_of(models, bench)


def _labels(ability, labelled_variants):
    labels = {"backbone": "Backbone", f"maec_{ability}": "MAEC"}
    labels |= {f"maec_{ability}.{v}": label for label, v in labelled_variants.items()}
    return labels


def ablation_variants():
    return {name.replace("_", " "): variant for name, variant in ABLATIONS.items()}


def get_ablation_scores(wildcards):
    return _labelled_scores(wildcards.ability, ablation_variants())


def get_ablation_labels(wildcards):
    return _labels(wildcards.ability, ablation_variants())


def k2_labelled():
    return {f"k2={fmt(k2)}": f"k2-{fmt(k2)}" for k2 in EXPERIMENTS["k2_grid"]}


def get_k2_scores(wildcards):
    return _labelled_scores(wildcards.ability, k2_labelled(), with_default=False)


def get_k2_labels(wildcards):
    return _labels(wildcards.ability, k2_labelled())


def types_labelled():
    return {name: f"types-{name}" for name in EXPERIMENTS["tensor_types"]}


def get_type_scores(wildcards):
    return _labelled_scores(wildcards.ability, types_labelled())


def get_type_labels(wildcards):
    return _labels(wildcards.ability, types_labelled())


def get_figure_title(wildcards):
    return f"{wildcards.ability} ({benchmark_of(wildcards.ability).upper()})"


def get_experiment_outputs():
    outputs = ["results/tables/table2.md"]
    for a in ABILITIES:
        outputs += [
            f"results/figures/ablation_{a}.png",
            f"results/figures/k2_{a}.png",
            f"results/tables/tensor_types_{a}.md",
            f"results/figures/layer_cosine_{a}.png",
        ]
    selected = EXPERIMENTS["selection"].get("abilities", ABILITIES)
    outputs += [f"results/tables/selection_{a}.md" for a in selected]
    return outputs


# ---- resources ----------------------------------------------------------------------------


def job_resources(kind):
    """Resources of a kind of job (train, evaluate, stream, light) for the `resources:`
    directive: gpu, gpu_model (when set), mem_mb and runtime in minutes."""
    spec = config["resources"][kind]
    resources = dict(
        gpu=spec.get("gpu", 0),
        mem_mb=spec.get("mem_mb", 4000),
        runtime=spec.get("runtime", 60),
    )
    if spec.get("gpu_model"):
        resources["gpu_model"] = spec["gpu_model"]
    return resources


def get_threads(kind):
    return config["resources"][kind].get("threads", 1)


# ---- the final target ---------------------------------------------------------------------


def get_final_output():
    return (
        [merged_weights(a) for a in ABILITIES]
        + [f"results/tables/diagnostics_{a}.csv" for a in ABILITIES]
        + ["results/tables/results.csv", "results/tables/results.md"]
    )


def get_k2(wildcards):
    return config["abilities"][wildcards.ability]["k2"]
