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
        if not ability.isidentifier():
            raise ValueError(
                f"config: abilities.{ability}: ability names must be identifiers"
            )


check_config_consistency(config)


L0 = config["reference_language"]
LANGUAGES = config["languages"]
ABILITIES = list(config["abilities"])
IS_DEMO = "world" in config


wildcard_constraints:
    corpus="[A-Za-z0-9]+_[A-Za-z0-9]+",
    run="[A-Za-z0-9_+]+",
    ability="|".join(ABILITIES),
    lang="[A-Za-z_-]+",
    model="[A-Za-z0-9_.-]+",


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
    """Evaluation model names: `backbone`, or `maec_{ability}` for a merged model."""
    if wildcards.model == "backbone":
        return BACKBONE
    kind, _, ability = wildcards.model.partition("_")
    if kind == "maec" and ability in ABILITIES:
        return merged_model_dir(ability)
    raise ValueError(f"unknown model {wildcards.model!r} in an evaluation target")


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


def cpt_dir(run):
    return f"results/cpt/{run}"


# ---- deltas -------------------------------------------------------------------------------


def get_ability_delta_inputs(wildcards):
    return dict(
        backbone=BACKBONE,
        ability_model=cpt_dir(ability_run(wildcards.ability)),
        general_model=cpt_dir(reference_run()),
    )


def get_language_delta_inputs(wildcards):
    inputs = dict(
        backbone=BACKBONE, language_model=cpt_dir(language_run(wildcards.lang))
    )
    if config["language_weights"].get("mode", "eq2") == "eq2":
        inputs["general_model"] = cpt_dir(reference_run())
    return inputs


def language_delta(lang):
    return f"results/deltas/language/{lang}.safetensors"


def ability_delta(ability):
    return f"results/deltas/ability/{ability}.safetensors"


R_LANG = "results/deltas/r_lang.safetensors"


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
