import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# The package lives in src/; putting it on PYTHONPATH makes it importable in every job
# (local, Slurm, or a conda environment from envs/) even without `pip install -e .`.
# Jobs inherit this process's environment; nothing is asked of the user. This process
# reads the names of models and merge variants with it (maec.workflow.naming).
SRC = str(Path(workflow.basedir) / "src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.getenv("PYTHONPATH")]))
)
sys.path.insert(0, SRC)

from maec.workflow.config_checks import ablation_abilities, check_config, selection_abilities
from maec.workflow.naming import (
    CORPUS_NAME,
    LANGUAGE_CODE,
    RUN_NAME,
    fmt,
    format_model,
    format_variant,
    joint_pattern,
    parse_model,
    parse_variant,
    variant_values,
)

# The schema is the one source of defaults: validate() fills in every default it names;
# maec.workflow.config_checks then checks what a schema cannot say.
validate(config, schema="../schemas/config.schema.yaml")
check_config(config)


L0 = config["reference_language"]
LANGUAGES = config["languages"]
ABILITIES = list(config["abilities"])
IS_DEMO = "world" in config
MGSM_LANGUAGES = config["evaluation"]["mgsm"]["languages"]
MMLU_LANGUAGES = config["evaluation"]["mmlu"]["languages"]


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
    seed="(seed-[0-9]+/)?",
    combine="ties|dare",
    abilities=joint_pattern(ABILITIES),


# ---- paths: one helper per kind of output (a wildcard such as "{ability}" gives a pattern) --

WORLD = "results/world"  # the demo world's corpora and benchmarks
TOKENIZER = "results/tokenizer"
BACKBONE_INIT = "results/backbone_init"
BACKBONE = "results/backbone"

# Training seeds: the training runs (importance CPT, masked CPT, baselines) and everything
# made from them (masks, deltas, merges, their scores) repeat per seed. A seed's outputs
# lie under results/{seed} with `seed` its path part (the wildcard {seed}): empty for the
# first seed, so that a one-seed run keeps its paths, and seed-{n}/ for the others.
SEEDS = [config["training"]["seed"] + i for i in range(config["seeds"])]


def seed_part(seed):
    return "" if seed == SEEDS[0] else f"seed-{seed}/"


def seed_of(part):
    """The training seed of a seed's path part (the {seed} wildcard)."""
    return int(part.removeprefix("seed-").removesuffix("/")) if part else SEEDS[0]


def token_blocks(corpus):
    return f"results/tokens/{corpus}.npy"


def token_summary(corpus):
    return f"results/tokens/{corpus}.json"


def importance_dir(corpus, seed=""):
    return f"results/{seed}importance/{corpus}"


def mask_file(corpus, seed=""):
    return f"results/{seed}masks/{corpus}.safetensors"


def mask_summary(corpus, seed=""):
    return f"results/{seed}masks/{corpus}.json"


def union_mask(run, seed=""):
    return f"results/{seed}masks/union/{run}.safetensors"


def cpt_dir(run, deltas="deltas", seed=""):
    """Masked CPT runs feed results/deltas; the same runs trained on every entry (the
    "without key-neuron locating" ablation) feed results/deltas-full."""
    return f"results/{seed}{'cpt' if deltas == 'deltas' else 'cpt-full'}/{run}"


def baseline_dir(method, run, seed=""):
    return f"results/{seed}baselines/{method}/{run}"


def adaptation_dir(method, run, seed=""):
    """Domain adaptation (DA) on `run` after the method's CPT on the general corpora."""
    return f"results/{seed}baselines/{method}-da/{run}"


def reference_download_dir(name):
    return f"results/reference/{name}"


def resume_dir(run_dir):
    """A training run's resume state, outside its output (Snakemake deletes a failed
    job's outputs): results/.resume/ + the output's path under results/."""
    return f"results/.resume/{run_dir.removeprefix('results/')}"


def ability_delta(ability, deltas="deltas", kind="ability", seed=""):
    return f"results/{seed}{deltas}/{kind}/{ability}.safetensors"


def ability_pack(ability, seed=""):
    return f"results/{seed}packs/{ability}.safetensors"


def language_delta(lang, deltas="deltas", seed=""):
    return f"results/{seed}{deltas}/language/{lang}.safetensors"


def r_lang(deltas="deltas", mu=None, seed=""):
    if mu is None:
        return f"results/{seed}{deltas}/r_lang.safetensors"
    return f"results/{seed}{deltas}/r_lang-mu-{mu}.safetensors"


def merged_path(ability, variant, suffix, seed=""):
    if variant is None:
        return f"results/{seed}merged/{ability}{suffix}"
    return f"results/{seed}merged/{ability}/{variant}{suffix}"


def merged_weights(ability, variant=None, seed=""):
    """The MAEC model's weights, or a merge variant's (results/merged/{ability}/{variant})."""
    return merged_path(ability, variant, ".safetensors", seed)


def merged_model_dir(ability, variant=None, seed=""):
    return merged_path(ability, variant, ".hf", seed)


def merge_rounding(ability, seed=""):
    """How much of γR(A) survives the rounding of the MAEC model (maec.combination.rounding)."""
    return merged_path(ability, None, ".rounding.json", seed)


def similarity_table(ability, variant=None, seed=""):
    """S(τ), rank and T of the MAEC merge, or of a merge variant (beside its weights)."""
    if variant is None:
        return f"results/{seed}similarity/{ability}.tsv"
    return merged_path(ability, variant, ".tsv", seed)


def task_vector_weights(method, ability, seed="", combine=None):
    folder = (
        "tv" if combine is None else f"tv-{combine}"
    )  # F-TV / L-TV, or by TIES, DARE
    return f"results/{seed}baselines/{folder}/{method}_{ability}.safetensors"


def task_vector_model_dir(method, ability, seed="", combine=None):
    folder = "tv" if combine is None else f"tv-{combine}"
    return f"results/{seed}baselines/{folder}/{method}_{ability}.hf"


def layer_swap_path(ability, suffix, seed=""):
    return f"results/{seed}baselines/layer-swap/{ability}{suffix}"


def eval_scores(model, bench, lang, dev=False, seed=""):
    """A model's score on one benchmark and language; `dev`: on the selection's dev split."""
    return f"results/{seed}eval{'-dev' if dev else ''}/{model}/{bench}_{lang}.json"


def eval_records(model, bench, lang, dev=False, seed=""):
    return f"results/{seed}eval{'-dev' if dev else ''}/{model}/{bench}_{lang}.jsonl"


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
    the job's script once, in the batch step, where maec.training.launch starts torchrun on every
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
        [merged_weights(a, seed=seed_part(s)) for s in SEEDS for a in ABILITIES]
        + [table(f"diagnostics_{a}", "csv") for a in ABILITIES]
        + [table("results", "csv"), table("results", "md")]
    )
