import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# The package lives in src/; putting it on PYTHONPATH makes it importable in every job
# (local, Slurm, or a conda environment from envs/) even without `pip install -e .`.
# Jobs inherit this process's environment; nothing is asked of the user. This process
# reads the names of models and merge variants with it (maec.naming).
SRC = str(Path(workflow.basedir) / "src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.getenv("PYTHONPATH")]))
)
sys.path.insert(0, SRC)

from maec.config_checks import check_config, selection_abilities
from maec.naming import (
    CORPUS_NAME,
    LANGUAGE_CODE,
    RUN_NAME,
    fmt,
    format_model,
    format_variant,
    parse_model,
    parse_variant,
    variant_values,
)

# The schema is the one source of defaults: validate() fills in every default it names;
# maec.config_checks then checks what a schema cannot say.
validate(config, schema="../schemas/config.schema.yaml")
check_config(config)


L0 = config["reference_language"]
LANGUAGES = config["languages"]
ABILITIES = list(config["abilities"])
IS_DEMO = "world" in config
MGSM_LANGUAGES = config["evaluation"]["mgsm"]["languages"]
MMLU_LANGUAGES = config["evaluation"]["mmlu"]["languages"]
# a joint model's abilities: two or more joined by + (maec.naming.joint_abilities)
JOINT_ABILITIES = "({0})(\\+({0}))+".format("|".join(ABILITIES))


wildcard_constraints:
    corpus=CORPUS_NAME,
    run=RUN_NAME,
    ability="|".join(ABILITIES),
    lang=LANGUAGE_CODE,
    model="[A-Za-z0-9_.,+-]+",
    deltas="deltas|deltas-full",
    variant="[A-Za-z0-9_.,-]+",
    split="dev|val|test",
    mu="[0-9.]+",
    method="full|lora",
    name="[A-Za-z0-9_]+",
    combine="ties|dare",
    abilities=JOINT_ABILITIES,


# ---- paths: one helper per kind of output (a wildcard such as "{ability}" gives a pattern) --

WORLD = "results/world"  # the demo world's corpora and benchmarks
TOKENIZER = "results/tokenizer"
BACKBONE_INIT = "results/backbone_init"
BACKBONE = "results/backbone"


def token_blocks(corpus):
    return f"results/tokens/{corpus}.npy"


def token_summary(corpus):
    return f"results/tokens/{corpus}.json"


def importance_dir(corpus):
    return f"results/importance/{corpus}"


def mask_file(corpus):
    return f"results/masks/{corpus}.safetensors"


def mask_summary(corpus):
    return f"results/masks/{corpus}.json"


def union_mask(run):
    return f"results/masks/union/{run}.safetensors"


def cpt_dir(run, deltas="deltas"):
    """Masked CPT runs feed results/deltas; the same runs trained on every entry (the
    "without key-neuron locating" ablation) feed results/deltas-full."""
    return f"results/cpt/{run}" if deltas == "deltas" else f"results/cpt-full/{run}"


def baseline_dir(method, run):
    return f"results/baselines/{method}/{run}"


def adaptation_dir(method, run):
    """Domain adaptation (DA) on `run` after the method's CPT on the general corpora."""
    return f"results/baselines/{method}-da/{run}"


def reference_download_dir(name):
    return f"results/reference/{name}"


def resume_dir(run_dir):
    """A training run's resume state, outside its output (Snakemake deletes a failed
    job's outputs): results/.resume/ + the output's path under results/."""
    return f"results/.resume/{run_dir.removeprefix('results/')}"


def ability_delta(ability, deltas="deltas", kind="ability"):
    return f"results/{deltas}/{kind}/{ability}.safetensors"


def ability_pack(ability):
    return f"results/packs/{ability}.safetensors"


def language_delta(lang, deltas="deltas"):
    return f"results/{deltas}/language/{lang}.safetensors"


def r_lang(deltas="deltas", mu=None):
    if mu is None:
        return f"results/{deltas}/r_lang.safetensors"
    return f"results/{deltas}/r_lang-mu-{mu}.safetensors"


def merged_path(ability, variant, suffix):
    if variant is None:
        return f"results/merged/{ability}{suffix}"
    return f"results/merged/{ability}/{variant}{suffix}"


def merged_weights(ability, variant=None):
    """The MAEC model's weights, or a merge variant's (results/merged/{ability}/{variant})."""
    return merged_path(ability, variant, ".safetensors")


def merged_model_dir(ability, variant=None):
    return merged_path(ability, variant, ".hf")


def merge_rounding(ability):
    """How much of γR(A) survives the rounding of the MAEC model (maec.rounding)."""
    return merged_path(ability, None, ".rounding.json")


def similarity_table(ability, variant=None):
    """S(τ), rank and T of the MAEC merge, or of a merge variant (beside its weights)."""
    if variant is None:
        return f"results/similarity/{ability}.tsv"
    return merged_path(ability, variant, ".tsv")


def task_vector_path(method, ability, combine, suffix):
    """F-TV / L-TV (task arithmetic), or with `combine` (ties, dare) instead."""
    folder = "tv" if combine is None else f"tv-{combine}"
    return f"results/baselines/{folder}/{method}_{ability}{suffix}"


def task_vector_weights(method, ability, combine=None):
    return task_vector_path(method, ability, combine, ".safetensors")


def task_vector_model_dir(method, ability, combine=None):
    return task_vector_path(method, ability, combine, ".hf")


def layer_swap_weights(ability):
    return f"results/baselines/layer-swap/{ability}.safetensors"


def layer_swap_model_dir(ability):
    return f"results/baselines/layer-swap/{ability}.hf"


def eval_scores(model, bench, lang, dev=False):
    """A model's score on one benchmark and language; `dev`: on the selection's dev split."""
    return f"results/eval{'-dev' if dev else ''}/{model}/{bench}_{lang}.json"


def eval_records(model, bench, lang, dev=False):
    return f"results/eval{'-dev' if dev else ''}/{model}/{bench}_{lang}.jsonl"


def ood_scores(model):
    """A model's out-of-domain scores (lm-evaluation-harness tasks, Table 3)."""
    return f"results/eval-ood/{model}/scores.json"


def ood_results(model):
    return f"results/eval-ood/{model}/lm_eval.json"


def selection_choice(ability):
    return f"results/selection/{ability}.json"


def table(name, ext="md"):
    return f"results/tables/{name}.{ext}"


def figure(name, ext="png"):
    return f"results/figures/{name}.{ext}"


# ---- corpora and training runs ------------------------------------------------------------


def general_corpus(lang):
    return f"general_{lang}"


def ability_corpus(ability):
    return f"{ability}_{L0}"


def translated_corpus(ability, lang):
    """The ability corpus translated into a target language (F-CPT_{L&T}, F-CPT_T)."""
    return f"{ability}_{lang}"


def translated_corpora(ability):
    return [
        translated_corpus(ability, lang)
        for lang in config["abilities"][ability]["translated_corpora"]
    ]


def all_corpora():
    return [general_corpus(lang) for lang in [L0, *LANGUAGES]] + [
        ability_corpus(a) for a in ABILITIES
    ]


def corpus_config(corpus):
    kind, lang = corpus.split("_", 1)
    if kind == "general":
        return config["general_corpora"][lang]
    if lang != L0:
        return config["abilities"][kind]["translated_corpora"][lang]
    return config["abilities"][kind]["corpus"]


def corpus_key(corpus):
    """The config key of a corpus: general_corpora.{lang} or abilities.{ability}.corpus."""
    kind, lang = corpus.split("_", 1)
    if kind == "general":
        return f"general_corpora.{lang}"
    return f"abilities.{kind}.corpus"


def corpus_role(corpus):
    kind, lang = corpus.split("_", 1)
    if kind != "general":
        return "ability"
    return "reference" if lang == L0 else "language"


def ability_run(ability):
    """Θ_{A,L0}: masked CPT on the ability corpus mixed with the reference general corpus."""
    return f"{ability_corpus(ability)}+{general_corpus(L0)}"


def reference_run():
    """Θ_{L0}: masked CPT on the reference general corpus."""
    return general_corpus(L0)


def language_run(lang):
    """Θ_{Li,L0} (language weights mode eq2) or Θ_{Li} (plain)."""
    if config["language_weights"]["mode"] == "eq2":
        return f"{general_corpus(lang)}+{general_corpus(L0)}"
    return general_corpus(lang)


def run_corpora(run):
    return run.split("+")


# ---- evaluation ---------------------------------------------------------------------------


def benchmark_of(ability):
    return config["abilities"][ability]["benchmark"]


def mgsm_questions(lang):
    return config["evaluation"]["mgsm"]["questions"].format(lang=lang)


def mmlu_file(split, lang):
    return config["evaluation"]["mmlu"][split].format(lang=lang)


# ---- resources ----------------------------------------------------------------------------


def job_resources(kind):
    """Resources of a kind of job (train, evaluate, stream, light) for the `resources:`
    directive: gpu (of all nodes), gpu_model (when set), mem_mb (per node) and runtime in
    minutes. On several nodes, one task per node, and `mpi` so that the Slurm plugin runs
    the job's script once, in the batch step, where maec.launch starts torchrun on every
    node with srun; tasks_per_gpu 0 keeps the plugin from asking for a task per GPU."""
    spec = config["resources"][kind]
    resources = dict(
        gpu=spec["gpu"] * spec["nodes"], mem_mb=spec["mem_mb"], runtime=spec["runtime"]
    )
    if spec["gpu_model"]:
        resources["gpu_model"] = spec["gpu_model"]
    if spec["nodes"] > 1:
        resources.update(
            nodes=spec["nodes"], tasks=spec["nodes"], tasks_per_gpu=0, mpi="srun"
        )
    return resources


def get_threads(kind):
    return config["resources"][kind]["threads"]


# ---- the final target ---------------------------------------------------------------------


def get_final_output():
    return (
        [merged_weights(a) for a in ABILITIES]
        + [table(f"diagnostics_{a}", "csv") for a in ABILITIES]
        + [table("results", "csv"), table("results", "md")]
    )
