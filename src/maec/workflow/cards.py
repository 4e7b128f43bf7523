"""Which models get a model card and a provenance record, and what goes into them. Pure
Python, functions of the validated config.

Every model the workflow keeps gets them: the MAEC models, the baselines Table 2 and the
comparisons beyond it evaluate, the joint model, each for every training seed. Merge variants
(the k2 sweep, the ablations, selection candidates) are scored and compared, not shared, and
get none. A card's settings are the config's sections that shaped the model along its path
through the workflow (for a MAEC model: the corpora, tokenization, training, the importance
CPT, key neurons, the masked CPT, Eq. 2 and 3, the merge), so a change of any of them reruns
the card.
"""

from maec.workflow import corpora
from maec.workflow.intermediates import deleted_after_use
from maec.workflow.jobs import CADENCE, seed_dir_of, seed_of_dir, training_seeds
from maec.workflow.model_names import format_model, model_dir, model_training_runs, parse_model
from maec.workflow.models import (
    MODEL_KINDS,
    ExpertMerge,
    Joint,
    Maec,
    TaskVectors,
    TrainingRun,
    joint_abilities_of,
)
from maec.workflow.naming import joint_abilities
from maec.workflow.paths import TEMPLATES, parse_path, similarity_table
from maec.workflow.scores import bench_scores, benchmark_of
from maec.workflow.studies import beyond_abilities, beyond_entries, table2_entries
from maec.workflow.variants import language_mu, merge_method_settings

# Every model's path starts from the backbone, the corpora and their tokens, and training.
_SHARED_SECTIONS = ("reference_language", "languages", "backbone", "world", "general_corpora")
_TRAINING_SECTIONS = ("tokenize", "training")
_MAEC_SECTIONS = (
    "importance_cpt",
    "key_neurons",
    "masked_cpt",
    "ability_weights",
    "language_weights",
    "deltas",
    "merge",
)


def model_card(model: str, seed_dir: str = "") -> str:
    return TEMPLATES["card"].format(model=model, seed_dir=seed_dir)


def card_provenance(model: str, seed_dir: str = "") -> str:
    return TEMPLATES["card_provenance"].format(model=model, seed_dir=seed_dir)


def _kept_models(config, experiments: bool) -> list[str]:
    """Every name of a kept model (see `carded_models`), in table order."""
    models = [format_model("maec", ability) for ability in config["abilities"]]
    if experiments:
        models += [model for model, _, _ in table2_entries(config)]
        models += [
            model
            for ability in beyond_abilities(config)
            for model, _ in beyond_entries(config, ability)
        ]
    return [
        model
        for model in dict.fromkeys(models)
        if MODEL_KINDS[parse_model(model).kind].trained
        and parse_model(model).variant is None
        and not deleted_after_use(config, model_dir(config, model))
    ]


def sharing_models(config, model: str) -> list[str]:
    """The kept models whose directory is this model's: a run that does not depend on the
    ability (F-CPT_L trains on the general corpora) is one model under each ability's name,
    and gets one card with the scores of each."""
    directory = model_dir(config, model)
    names = [m for m in _kept_models(config, True) if model_dir(config, m) == directory]
    return names or [model]


def carded_models(config, experiments: bool = True) -> list[str]:
    """The kept models of the default target (each ability's MAEC model) or, with
    `experiments`, of `experiments` too (every trained model Table 2 and the comparisons
    beyond it evaluate, but merge variants and the models deleted after use,
    `maec.workflow.intermediates`): one name per model directory, the first."""
    models = _kept_models(config, experiments)
    first = {}
    for model in models:
        first.setdefault(model_dir(config, model), model)
    return list(first.values())


def card_outputs(config, experiments: bool = True) -> list[str]:
    """The cards (their copies under results/cards) of every seed's kept models."""
    return [
        model_card(model, seed_dir_of(config, seed))
        for seed in training_seeds(config)
        for model in carded_models(config, experiments)
    ]


def model_abilities(config, model: str) -> list[str]:
    name = parse_model(model)
    if MODEL_KINDS[name.kind].joint:
        return joint_abilities(name.ability)
    return [name.ability]


def card_abilities(config, model: str) -> list[str]:
    """The abilities of the model and of every name it shares its directory with."""
    return list(
        dict.fromkeys(a for m in sharing_models(config, model) for a in model_abilities(config, m))
    )


def card_scores(config, model: str, seed_dir: str = "") -> list[str]:
    """The score files of the model, under each name it has, on its abilities' benchmarks,
    every language."""
    return list(
        dict.fromkeys(
            path
            for name in sharing_models(config, model)
            for bench in dict.fromkeys(
                benchmark_of(config, a) for a in model_abilities(config, name)
            )
            for path in bench_scores(config, [name], bench, seed_part=seed_dir)
        )
    )


def relation(model: str) -> str:
    """The hub's base_model_relation: a training run's model fine-tunes the backbone (a LoRA
    run is saved with its adapters merged in), every other kept model is a merge."""
    return "finetune" if isinstance(MODEL_KINDS[parse_model(model).kind], TrainingRun) else "merge"


def card_similarity(config, model: str, seed_dir: str = "") -> list[str]:
    """The similarity tables whose T a MAEC model merged (none for other kinds)."""
    if not isinstance(MODEL_KINDS[parse_model(model).kind], Maec):
        return []
    return [similarity_table(parse_model(model).ability, seed_dir=seed_dir)]


def card_summary(model: str) -> str:
    """What the model is, in a sentence or two after its label and description."""
    if isinstance(MODEL_KINDS[parse_model(model).kind], Maec | Joint):
        return (
            "MAEC extracts ability weights R(A) from English ability data and language weights "
            "R_Lang from general text in each language, and adds them to the backbone: "
            "Θ = Θ_o + γ R(A) on the ability tensors T + η R_Lang (Eq. 5), with no ability data "
            "in the target languages."
        )
    return "It is one of the models the MAEC paper compares its method with (Table 2)."


def card_facts(config, model: str, backbone: str, seed_dir: str = "") -> dict:
    """The card's facts a rule passes as params (`maec.report.cards.CardFacts` but the scores,
    the license and the tensors of T, which the job reads); the settings hold the training
    seed."""
    kind = MODEL_KINDS[parse_model(model).kind]
    runs = model_training_runs(config, model)
    return dict(
        name=", ".join(sharing_models(config, model)),
        label=kind.label,
        description=kind.description,
        summary=card_summary(model),
        relation=relation(model),
        base_model=config.get("backbone", backbone),
        languages=card_languages(config),
        settings=card_settings(config, model) | {"training_seed": seed_of_dir(config, seed_dir)},
        corpora=sorted(runs.items()),
        datasets=card_datasets(config, model),
        level=config["tables"]["intervals"]["level"],
    )


def card_settings(config, model: str) -> dict:
    """The config's values that shaped the model (see the module's docstring)."""
    kind = MODEL_KINDS[parse_model(model).kind]
    abilities = card_abilities(config, model)
    sections = list(_SHARED_SECTIONS) + list(_TRAINING_SECTIONS)
    settings = {key: config[key] for key in sections if key in config}
    settings["training"] = {
        key: value for key, value in config["training"].items() if key not in CADENCE
    }
    settings["abilities"] = {a: config["abilities"][a] for a in abilities}
    if isinstance(kind, Maec | Joint):
        settings |= {key: config[key] for key in _MAEC_SECTIONS}
        settings["mu"] = language_mu(config)
        settings["k2"] = {a: config["abilities"][a]["k2"] for a in abilities}
    if isinstance(kind, Joint):
        settings["joint"] = joint_abilities_of(config)
    if isinstance(kind, TrainingRun | ExpertMerge):
        settings["baselines"] = config["experiments"]["baselines"]
        if "translation" in config:
            settings["translation"] = config["translation"]
    if isinstance(kind, TaskVectors) and kind.merge_method:
        settings["merge_method"] = merge_method_settings(config, kind.merge_method)
    return settings


def _run_corpora(run_dir: str) -> list[str]:
    """The corpora a training run's directory names (a run of corpora joined by +, or a
    domain adaptation's one corpus)."""
    _, fields = parse_path(run_dir)
    return corpora.run_corpora(fields["run"]) if "run" in fields else [fields["corpus"]]


def card_datasets(config, model: str) -> list[str]:
    """The hub data sets among the corpora the model's training runs train on (a local file,
    as a machine translation's output, is not one)."""
    sources = [
        corpora.corpus_config(config, corpus)["source"]
        for name in sharing_models(config, model)
        for run_dir in model_training_runs(config, name)
        for corpus in _run_corpora(run_dir)
    ]
    return [s for s in dict.fromkeys(sources) if not corpora.is_local_path(s)]


def card_languages(config) -> list[str]:
    return corpora.all_languages(config)
