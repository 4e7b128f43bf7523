"""Every output path of the workflow, formatted and parsed in one place.

Each kind of output has one `PathTemplate` (`TEMPLATES`): a pattern with named fields, whose
`format` writes a path and whose `parse` reads the fields back, so that
`template.format(**template.parse(path)) == path`. The functions below are the helpers the
rules call (`mask_file("{corpus}", "{seed_dir}")` gives a rule's output pattern, since a
field's value is written as it is, placeholders included); the inverses beside them are
what scripts and tables use instead of splitting paths by hand (`eval_file`, `records_of`).

A training seed's outputs lie under `results/{seed_dir}`: `seed_dir` is empty for the first
training seed (a one-seed run keeps its paths) and `seed-{k}/` for seed k (`seed_dir`,
`seed_of`). Pure Python: the workflow imports this while it plans.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from maec.merge_methods import MERGE_METHODS
from maec.workflow.naming import ABILITY_NAME, CORPUS_NAME, LANGUAGE_CODE, RUN_NAME

# The pattern of each field; the workflow's wildcards of the same names take the same ones
# (common.smk narrows `ability` and `abilities` to the config's abilities).
FIELDS: dict[str, str] = {
    "seed_dir": r"(?:seed-[0-9]+/)?",
    "corpus": CORPUS_NAME,
    "run": RUN_NAME,
    "ability": ABILITY_NAME,
    "abilities": rf"{ABILITY_NAME}(?:\+{ABILITY_NAME})*",  # one ability, or a joint model's
    "lang": LANGUAGE_CODE,
    "model": r"[A-Za-z0-9_.,+-]+",
    "bench": r"[a-z][a-z0-9]*",
    "deltas": r"deltas|deltas-full",
    "delta_kind": r"ability|ability-plain|ability-revert",
    "variant": r"[A-Za-z0-9_.,-]+",
    "split": r"dev|val|test",
    "mu": r"[0-9.]+",
    "tuning": r"full|lora",
    "merge_method": "|".join(MERGE_METHODS),
    "name": r"[A-Za-z0-9_]+",
    "suffix": r"\.safetensors|\.hf|\.rounding\.json|\.tsv",
    "ext": r"[a-z]+",
}
_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class PathTemplate:
    """A path pattern with `{field}`s of `FIELDS`."""

    pattern: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(_FIELD.findall(self.pattern))

    def format(self, **values: str) -> str:
        """The path with these field values, written as they are (a wildcard `{x}` stays)."""
        if set(values) != set(self.fields):
            raise ValueError(f"{self.pattern}: fields are {self.fields}, got {sorted(values)}")
        return self.pattern.format(**values)

    def regex(self) -> re.Pattern:
        parts = _FIELD.split(self.pattern)  # literal, field, literal, field, ..., literal
        pattern = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>{FIELDS[part]})"
            for i, part in enumerate(parts)
        )
        return re.compile(pattern)

    def parse(self, path: str) -> dict[str, str]:
        """The field values of `path`; a ValueError names the path and the pattern."""
        match = self.regex().fullmatch(str(path))
        if match is None:
            raise ValueError(f"{path}: not a path of the form {self.pattern}")
        return match.groupdict()


TEMPLATES: dict[str, PathTemplate] = {
    name: PathTemplate(pattern)
    for name, pattern in {
        "token_blocks": "results/tokens/{corpus}.npy",
        "token_summary": "results/tokens/{corpus}.json",
        "importance": "results/{seed_dir}importance/{corpus}",
        "mask": "results/{seed_dir}masks/{corpus}.safetensors",
        "mask_summary": "results/{seed_dir}masks/{corpus}.json",
        "union_mask": "results/{seed_dir}masks/union/{run}.safetensors",
        "cpt": "results/{seed_dir}cpt/{run}",
        "cpt_full": "results/{seed_dir}cpt-full/{run}",
        "baseline": "results/{seed_dir}baselines/{tuning}/{run}",
        "adaptation": "results/{seed_dir}baselines/{tuning}-da/{corpus}",
        "task_vectors": "results/{seed_dir}baselines/tv/{tuning}_{ability}{suffix}",
        "combined_task_vectors": (
            "results/{seed_dir}baselines/tv-{merge_method}/{tuning}_{ability}{suffix}"
        ),
        "layer_swap": "results/{seed_dir}baselines/layer-swap/{ability}{suffix}",
        "reference": "results/reference/{name}",
        "ability_delta": "results/{seed_dir}{deltas}/{delta_kind}/{ability}.safetensors",
        "language_delta": "results/{seed_dir}{deltas}/language/{lang}.safetensors",
        "r_lang": "results/{seed_dir}{deltas}/r_lang.safetensors",
        "r_lang_mu": "results/{seed_dir}{deltas}/r_lang-mu-{mu}.safetensors",
        "ability_pack": "results/{seed_dir}packs/{ability}.safetensors",
        "similarity": "results/{seed_dir}similarity/{ability}.tsv",
        "merged": "results/{seed_dir}merged/{abilities}{suffix}",
        "merge_variant": "results/{seed_dir}merged/{ability}/{variant}{suffix}",
        "scores": "results/{seed_dir}eval/{model}/{bench}_{lang}.json",
        "records": "results/{seed_dir}eval/{model}/{bench}_{lang}.jsonl",
        "dev_scores": "results/{seed_dir}eval-dev/{model}/{bench}_{lang}.json",
        "dev_records": "results/{seed_dir}eval-dev/{model}/{bench}_{lang}.jsonl",
        "ood_scores": "results/eval-ood/{model}/scores.json",
        "ood_results": "results/eval-ood/{model}/lm_eval.json",
        "ood_records": "results/eval-ood/{model}/items.jsonl",
        "selection": "results/selection/{ability}.json",
        "translation": "results/translations/{corpus}.jsonl",
        "translation_summary": "results/translations/{corpus}.json",
        "card": "results/{seed_dir}cards/{model}.md",
        "card_provenance": "results/{seed_dir}cards/{model}.provenance.json",
        "table": "results/tables/{name}.{ext}",
        "figure": "results/figures/{name}.{ext}",
    }.items()
}


def parse_path(path: str) -> tuple[str, dict[str, str]]:
    """(template name, field values) of an output path; a ValueError names a path of none."""
    for name, template in TEMPLATES.items():
        match = template.regex().fullmatch(str(path))
        if match:
            return name, match.groupdict()
    raise ValueError(f"{path}: not an output path of the workflow (maec.workflow.paths)")


# ---- fixed places -------------------------------------------------------------------------

WORLD = "results/world"  # the demo world's corpora and benchmarks
TOKENIZER = "results/tokenizer"  # the demo world's tokenizer
BACKBONE_INIT = "results/backbone_init"  # the demo world's backbone before pretraining
BACKBONE = "results/backbone"  # the backbone Θ_o (downloaded, or the demo world's)
TRANSLATION_MODEL = "results/translation_model"  # `translation.model`, downloaded


# ---- training seeds ------------------------------------------------------------------------

_SEED_DIR = re.compile(r"seed-([0-9]+)/")


def seed_dir(seed: int, first_seed: int) -> str:
    """The path part of a training seed's outputs: empty for the first seed."""
    return "" if seed == first_seed else f"seed-{seed}/"


def seed_of(part: str, first_seed: int) -> int:
    """The training seed of a `seed_dir` path part (the {seed_dir} wildcard)."""
    if not part:
        return first_seed
    match = _SEED_DIR.fullmatch(part)
    if match is None:
        raise ValueError(f"{part!r} is not a seed's path part (seed-{{k}}/ or empty)")
    return int(match.group(1))


# ---- token blocks, importance, masks, training runs --------------------------------------


def token_blocks(corpus):
    return TEMPLATES["token_blocks"].format(corpus=corpus)


def token_summary(corpus):
    return TEMPLATES["token_summary"].format(corpus=corpus)


def importance_dir(corpus, seed_dir=""):
    return TEMPLATES["importance"].format(corpus=corpus, seed_dir=seed_dir)


def mask_file(corpus, seed_dir=""):
    return TEMPLATES["mask"].format(corpus=corpus, seed_dir=seed_dir)


def mask_summary(corpus, seed_dir=""):
    return TEMPLATES["mask_summary"].format(corpus=corpus, seed_dir=seed_dir)


def union_mask(run, seed_dir=""):
    return TEMPLATES["union_mask"].format(run=run, seed_dir=seed_dir)


def cpt_dir(run, deltas="deltas", seed_dir=""):
    """Masked CPT runs feed results/deltas; the same runs trained on every entry (the
    "without key-neuron locating" ablation) feed results/deltas-full."""
    template = TEMPLATES["cpt" if deltas == "deltas" else "cpt_full"]
    return template.format(run=run, seed_dir=seed_dir)


def baseline_dir(tuning, run, seed_dir=""):
    """A baseline's CPT run: `tuning` full or lora, on the corpora of `run`."""
    return TEMPLATES["baseline"].format(tuning=tuning, run=run, seed_dir=seed_dir)


def adaptation_dir(tuning, corpus, seed_dir=""):
    """Domain adaptation (DA) on `corpus` after the tuning's CPT on the general corpora."""
    return TEMPLATES["adaptation"].format(tuning=tuning, corpus=corpus, seed_dir=seed_dir)


def translation_file(corpus):
    """An ability corpus translated by the workflow's `translation` model (JSON lines)."""
    return TEMPLATES["translation"].format(corpus=corpus)


def translation_summary(corpus):
    return TEMPLATES["translation_summary"].format(corpus=corpus)


def reference_download_dir(name):
    return TEMPLATES["reference"].format(name=name)


def resume_dir(run_dir):
    """A training run's resume state, outside its output (Snakemake deletes a failed
    job's outputs): results/.resume/ + the output's path under results/."""
    return f"results/.resume/{run_dir.removeprefix('results/')}"


# ---- deltas, packs, similarity, merges -------------------------------------------------


def ability_delta(ability, deltas="deltas", kind="ability", seed_dir=""):
    """R(A) (`kind` ability), or R(A) without its β term (ability-plain) or by reverting
    (ability-revert); from the masked runs (`deltas`) or the unmasked ones (deltas-full)."""
    return TEMPLATES["ability_delta"].format(
        ability=ability, deltas=deltas, delta_kind=kind, seed_dir=seed_dir
    )


def ability_pack(ability, seed_dir=""):
    return TEMPLATES["ability_pack"].format(ability=ability, seed_dir=seed_dir)


def language_delta(lang, deltas="deltas", seed_dir=""):
    return TEMPLATES["language_delta"].format(lang=lang, deltas=deltas, seed_dir=seed_dir)


def r_lang(deltas="deltas", mu=None, seed_dir=""):
    """R_Lang with the config's μ, or with one μ for every language."""
    if mu is None:
        return TEMPLATES["r_lang"].format(deltas=deltas, seed_dir=seed_dir)
    return TEMPLATES["r_lang_mu"].format(deltas=deltas, mu=mu, seed_dir=seed_dir)


def merged_path(abilities, variant, suffix, seed_dir=""):
    """The MAEC model of an ability (or the joint model of several, `math+science`), or a
    merge variant's (results/merged/{ability}/{variant}): `suffix` .safetensors, .hf, ..."""
    if variant is None:
        return TEMPLATES["merged"].format(abilities=abilities, suffix=suffix, seed_dir=seed_dir)
    return TEMPLATES["merge_variant"].format(
        ability=abilities, variant=variant, suffix=suffix, seed_dir=seed_dir
    )


def merged_weights(abilities, variant=None, seed_dir=""):
    return merged_path(abilities, variant, ".safetensors", seed_dir)


def merged_model_dir(abilities, variant=None, seed_dir=""):
    return merged_path(abilities, variant, ".hf", seed_dir)


def merge_rounding(ability, seed_dir=""):
    """How much of γR(A) survives the rounding of the MAEC model (maec.combination.rounding)."""
    return merged_path(ability, None, ".rounding.json", seed_dir)


def similarity_table(ability, variant=None, seed_dir=""):
    """S(τ), rank and T of the MAEC merge, or of a merge variant (beside its weights)."""
    if variant is None:
        return TEMPLATES["similarity"].format(ability=ability, seed_dir=seed_dir)
    return merged_path(ability, variant, ".tsv", seed_dir)


def task_vector_path(tuning, ability, suffix, seed_dir="", merge_method=None):
    """F-TV / L-TV (`tuning` full / lora), or their task vectors by TIES or DARE."""
    values = dict(tuning=tuning, ability=ability, suffix=suffix, seed_dir=seed_dir)
    if merge_method is None:
        return TEMPLATES["task_vectors"].format(**values)
    return TEMPLATES["combined_task_vectors"].format(merge_method=merge_method, **values)


def layer_swap_path(ability, suffix, seed_dir=""):
    return TEMPLATES["layer_swap"].format(ability=ability, suffix=suffix, seed_dir=seed_dir)


# ---- scores, tables, figures ----------------------------------------------------------------


def eval_scores(model, bench, lang, dev=False, seed_dir=""):
    """A model's score on one benchmark and language; `dev`: on the selection's dev split."""
    template = TEMPLATES["dev_scores" if dev else "scores"]
    return template.format(model=model, bench=bench, lang=lang, seed_dir=seed_dir)


def eval_records(model, bench, lang, dev=False, seed_dir=""):
    """The per-example records beside a score file."""
    template = TEMPLATES["dev_records" if dev else "records"]
    return template.format(model=model, bench=bench, lang=lang, seed_dir=seed_dir)


class EvalFile(NamedTuple):
    model: str
    bench: str
    lang: str


_EVAL_FILE = PathTemplate("{model}/{bench}_{lang}.{ext}")


def eval_file(path) -> EvalFile:
    """The model, benchmark and language of a score or records file, wherever it lies: the
    inverse of the last two parts of `eval_scores` and `eval_records`."""
    match = _EVAL_FILE.regex().fullmatch("/".join(Path(path).parts[-2:]))
    if match is None or match["ext"] not in ("json", "jsonl"):
        raise ValueError(
            f"{path}: not a score or records file ({{model}}/{{bench}}_{{lang}}.json or .jsonl)"
        )
    fields = match.groupdict()
    return EvalFile(fields["model"], fields["bench"], fields["lang"])


def records_beside(score_path) -> str:
    """The per-example records beside a score file, wherever it lies."""
    _, bench, lang = eval_file(score_path)
    return str(Path(score_path).with_name(f"{bench}_{lang}.jsonl"))


def records_of(score_paths) -> list[str]:
    """The records beside score files (their intervals are computed from them)."""
    return [records_beside(path) for path in score_paths]


def ood_scores(model):
    """A model's out-of-domain scores (lm-evaluation-harness tasks, Table 3)."""
    return TEMPLATES["ood_scores"].format(model=model)


def ood_records(model):
    """The per-item records of a model's out-of-domain tasks (the harness's logged samples)."""
    return TEMPLATES["ood_records"].format(model=model)


def ood_results(model):
    return TEMPLATES["ood_results"].format(model=model)


def ood_model(path) -> str:
    """The model of an out-of-domain scores file (the inverse of `ood_scores`)."""
    return TEMPLATES["ood_scores"].parse(path)["model"]


def selection_choice(ability):
    return TEMPLATES["selection"].format(ability=ability)


def table(name, ext="md"):
    return TEMPLATES["table"].format(name=name, ext=ext)


def figure(name, ext="png"):
    return TEMPLATES["figure"].format(name=name, ext=ext)
