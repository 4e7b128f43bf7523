"""What the config schema cannot say, checked before any job is planned: every language and
ability has what it needs, names every rule can build, corpora in a loadable form, averages
over scored languages. Each check raises ValueError naming the config key.

The workflow calls `check_config` on the validated config (the schema's defaults filled in).
"""

import math
import re

from maec.data.sources import CorpusError, source_form
from maec.data.translation import NLLB_CODES
from maec.workflow import corpora
from maec.workflow.benchmarks import (
    benchmark_key,
    benchmark_languages,
    check_harness_benchmarks,
    harness_benchmarks,
    has_dev_split,
    language_keys,
    scored_benchmarks,
)
from maec.workflow.models import MODEL_KINDS, TrainingRun
from maec.workflow.naming import (
    ABILITY_NAME_RULE,
    LANGUAGE_CODE_RULE,
    is_ability_name,
    is_language_code,
    is_model_name_part,
)


def check_config(config: dict) -> None:
    """Every check below, numbers and names first (a NaN or a bad name would break the
    others' messages). What must fit the backbone: maec.workflow.backbone_fit."""
    check_finite(config)
    check_names(config)
    check_config_consistency(config)
    check_training_budgets(config)
    check_patterns(config)


def non_finite_numbers(value, key: str = ""):
    """(key, number) of every NaN or infinite number in a config (YAML's .nan and .inf pass
    the schema's bounds: every comparison with NaN is false)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from non_finite_numbers(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from non_finite_numbers(item, f"{key}[{i}]")


def check_finite(config):
    for key, number in non_finite_numbers(config):
        raise ValueError(f"config: {key} is {number}: every number must be finite")


def selection_abilities(config):
    """The abilities the hyper-parameter selection runs for: those listed, else every one
    whose benchmark has a dev split (MGSM, MMLU, a harness benchmark with dev_tasks)."""
    with_dev = [
        ability
        for ability, spec in config["abilities"].items()
        if spec["benchmark"] not in harness_benchmarks(config)
        or has_dev_split(config, spec["benchmark"])
    ]
    return config["experiments"]["selection"].get("abilities", with_dev)


def ablation_abilities(config):
    """The abilities with the per-ability studies (experiments.ablation_abilities): those
    listed, else all."""
    listed = config["experiments"].get("ablation_abilities")
    return list(config["abilities"]) if listed is None else listed


def check_joint(config):
    beyond = config["experiments"].get("beyond", {})
    listed = beyond.get("joint") or []
    named = [
        ("joint", listed),
        ("joint_gamma", beyond.get("joint_gamma", {})),
        ("abilities", beyond.get("abilities") or []),
    ]
    for key, names in named:
        for ability in names:
            if ability not in config["abilities"]:
                raise ValueError(
                    f"config: experiments.beyond.{key} names {ability!r}, which is not in abilities"
                )
    if len(listed) == 1 or len(set(listed)) != len(listed):
        raise ValueError(
            f"config: experiments.beyond.joint lists {listed}: a joint model needs two or "
            "more distinct abilities ([] for none)"
        )


def language_codes_in(config):
    """Every language code of the config, with the key that holds it."""
    yield "reference_language", config["reference_language"]
    for i, lang in enumerate(config["languages"]):
        yield f"languages[{i}]", lang
    for lang in config["general_corpora"]:
        yield f"general_corpora.{lang}", lang
    for lang in config["language_weights"]["mu"]:
        yield f"language_weights.mu.{lang}", lang
    for bench in scored_benchmarks(config):
        yield from language_keys(config, bench)
    for ability, spec in config["abilities"].items():
        for i, lang in enumerate(spec["average"] or []):
            yield f"abilities.{ability}.average[{i}]", lang
        for lang in spec["translated_corpora"]:
            yield f"abilities.{ability}.translated_corpora.{lang}", lang
    for ability, languages in config["experiments"]["tensor_types_average"].items():
        for i, lang in enumerate(languages):
            yield f"experiments.tensor_types_average.{ability}[{i}]", lang


def check_names(config):
    """Language codes and ability names of the patterns every wildcard accepts
    (maec.workflow.naming): a code that no rule could build would leave its jobs out of the DAG."""
    for key, code in language_codes_in(config):
        if not is_language_code(code):
            raise ValueError(
                f"config: {key}: {code!r} is not a language code "
                f"({LANGUAGE_CODE_RULE}; e.g. en, zh, es419)"
            )
    for ability in config["abilities"]:
        if not is_ability_name(ability):
            raise ValueError(
                f"config: abilities.{ability}: {ability!r} is not an ability name "
                f"({ABILITY_NAME_RULE})"
            )


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
    for lang in config["language_weights"]["mu"]:
        if lang not in config["languages"]:
            raise ValueError(
                f"config: language_weights.mu.{lang} names a language not in languages"
            )
    check_joint(config)
    listed = [
        ("selection.abilities", selection_abilities(config)),
        ("ablation_abilities", ablation_abilities(config)),
    ]
    for key, abilities in listed:
        for ability in abilities:
            if ability not in config["abilities"]:
                raise ValueError(
                    f"config: experiments.{key} names {ability!r}, which is not in abilities"
                )
    for ability in selection_abilities(config):
        bench = config["abilities"][ability]["benchmark"]
        if bench in harness_benchmarks(config) and not has_dev_split(config, bench):
            raise ValueError(
                f"config: experiments.selection.abilities names {ability!r}, whose benchmark "
                f"has no dev split (evaluation.harness.{bench}.dev_tasks)"
            )
    corpora = {f"general_corpora.{lang}": c for lang, c in config["general_corpora"].items()}
    corpora |= {f"abilities.{a}.corpus": v["corpus"] for a, v in config["abilities"].items()}
    corpora |= {
        f"abilities.{a}.translated_corpora.{lang}": c
        for a, v in config["abilities"].items()
        for lang, c in v["translated_corpora"].items()
    }
    for key, corpus in corpora.items():
        try:
            source_form(corpus["source"], corpus["name"], corpus["data_files"])
        except CorpusError as err:
            raise ValueError(f"config: {key}.source: {err}") from None
    check_evaluated_languages(config)
    check_harness_benchmarks(config)
    check_averages(config)
    check_model_kinds(config)
    check_translation(config)
    check_figure5(config)
    check_experiments(config)


def check_evaluated_languages(config):
    """The demo world scores only languages it builds: its generator writes the benchmarks
    of the reference language and languages, and would fail on another (a change of
    languages that leaves a benchmark language behind would rerun it, and lose the world).
    A hub benchmark may score a language without language weights (zero-shot transfer)."""
    if "world" not in config:
        return
    built = corpora.all_languages(config)
    for bench in ("mgsm", "mmlu"):
        for i, lang in enumerate(config["evaluation"][bench]["languages"]):
            if lang not in built:
                raise ValueError(
                    f"config: evaluation.{bench}.languages[{i}]: {lang!r} is not a language "
                    f"the demo world builds (reference_language and languages: "
                    f"{', '.join(built)})"
                )


def training_budgets(config):
    """(config key, tokens, the key of its batch_tokens, batch_tokens) of every kind of
    training run."""
    batch = config["training"]["batch_tokens"]
    yield "importance_cpt.tokens", config["importance_cpt"]["tokens"], "training", batch
    yield "masked_cpt.tokens", config["masked_cpt"]["tokens"], "training", batch
    for kind, tokens in config["experiments"]["baselines"]["tokens"].items():
        yield f"experiments.baselines.tokens.{kind}", tokens, "training", batch
    if "world" in config:
        pretrain = config["world"]["pretrain"]
        yield (
            "world.pretrain.tokens",
            pretrain["tokens"],
            "world.pretrain",
            pretrain["batch_tokens"],
        )


def check_training_budgets(config):
    """Every run's tokens make at least one batch, and a batch holds at least one block.
    How a batch splits into micro-batches depends on the job's processes and on the
    micro_batch_size a profile may set per rule: the training job checks that before its
    first step (maec.training.plan)."""
    block_size = config["tokenize"]["block_size"]
    for key, tokens, section, batch_tokens in training_budgets(config):
        if tokens < batch_tokens:
            raise ValueError(
                f"config: {key}: {tokens} tokens are less than one batch "
                f"({section}.batch_tokens = {batch_tokens})"
            )
        if batch_tokens < block_size:
            raise ValueError(
                f"config: {section}.batch_tokens {batch_tokens} is less than one block "
                f"(tokenize.block_size = {block_size})"
            )
    if "world" in config and block_size > config["world"]["model"]["max_positions"]:
        raise ValueError(
            f"config: tokenize.block_size {block_size} exceeds world.model.max_positions "
            f"{config['world']['model']['max_positions']}"
        )


def check_patterns(config):
    """The key-neuron patterns compile (whether they select a tensor is checked against the
    backbone: maec.workflow.backbone_fit)."""
    for key in ("include", "exclude"):
        for i, pattern in enumerate(config["key_neurons"][key]):
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(
                    f"config: key_neurons.{key}[{i}]: {pattern!r} is not a regular expression "
                    f"({err})"
                ) from None


def check_averages(config):
    """Every averaged language is one its benchmark scores; two abilities that share a
    benchmark share its average."""
    by_bench = {}
    for ability, spec in config["abilities"].items():
        scored = benchmark_languages(config, spec["benchmark"])
        for lang in spec["average"] or []:
            if lang not in scored:
                raise ValueError(
                    f"config: abilities.{ability}.average names {lang!r}, which "
                    f"{benchmark_key(spec['benchmark'])} does not score"
                )
        if by_bench.setdefault(spec["benchmark"], spec["average"]) != spec["average"]:
            raise ValueError(
                f"config: abilities.{ability}.average differs from another {spec['benchmark']} "
                "ability's; one benchmark has one average"
            )
        for lang in spec["translated_corpora"]:
            if lang not in config["languages"]:
                raise ValueError(
                    f"config: abilities.{ability}.translated_corpora.{lang} names a language "
                    "not in languages"
                )
    for ability, languages in config["experiments"]["tensor_types_average"].items():
        if ability not in config["abilities"]:
            raise ValueError(
                f"config: experiments.tensor_types_average.{ability}: not in abilities"
            )
        bench = config["abilities"][ability]["benchmark"]
        for lang in languages:
            if lang not in benchmark_languages(config, bench):
                raise ValueError(
                    f"config: experiments.tensor_types_average.{ability} names {lang!r}, "
                    f"which {benchmark_key(bench)} does not score"
                )


def check_model_kinds(config):
    """Table 2's rows and Table 3's models are kinds of the registry that are built per
    ability (maec.workflow.models); every baseline the rows train has a token budget, and
    every budget is a baseline's."""
    kinds = [k for k, spec in MODEL_KINDS.items() if spec.per_ability and not spec.joint]
    experiments = config["experiments"]
    listed = [("rows", experiments["rows"])]
    if experiments.get("ood"):
        listed.append(("ood.models", experiments["ood"]["models"]))
    for key, names in listed:
        for kind in names:
            if kind not in kinds:
                raise ValueError(
                    f"config: experiments.{key} names {kind!r}, which is not a model kind "
                    f"({', '.join(kinds)})"
                )
    budgets = experiments["baselines"]["tokens"]
    for kind in budgets:
        if not isinstance(MODEL_KINDS.get(kind), TrainingRun):
            runs = [k for k, spec in MODEL_KINDS.items() if isinstance(spec, TrainingRun)]
            raise ValueError(
                f"config: experiments.baselines.tokens.{kind}: not a kind with a training run "
                f"of its own ({', '.join(runs)})"
            )
    trained = {b for kind in experiments["rows"] for b in MODEL_KINDS[kind].baselines()}
    for kind in sorted(trained - set(budgets)):
        raise ValueError(
            f"config: experiments.baselines.tokens.{kind} is missing: experiments.rows trains "
            f"{MODEL_KINDS[kind].label}"
        )


def translation_codes(config) -> dict[str, str]:
    """The translation model's language codes: the config's over NLLB-200's."""
    return NLLB_CODES | config["translation"]["codes"]


def check_translation(config):
    """The translation model translates from the reference language into languages the
    config builds, each with a code it knows."""
    if "translation" not in config:
        return
    codes = translation_codes(config)
    languages = config["translation"]["languages"]
    for i, lang in enumerate(languages):
        if lang not in config["languages"]:
            raise ValueError(f"config: translation.languages[{i}]: {lang!r} is not in languages")
    for lang in [config["reference_language"], *languages]:
        if lang not in codes:
            raise ValueError(
                f"config: translation.codes.{lang} is missing: the translation model's code "
                f"for {lang!r} (NLLB-200's are known: {', '.join(NLLB_CODES)})"
            )


def check_figure5(config):
    """Figure 5 compares corpora the importance CPT trains on, and masked runs the method
    makes."""
    figure5 = config["experiments"]["figure5"]
    known = corpora.all_corpora(config)
    for corpus in figure5["corpora"] or []:
        if corpus not in known:
            raise ValueError(
                f"config: experiments.figure5.corpora names {corpus!r}, which is not a corpus "
                f"of the method ({', '.join(known)})"
            )
    if figure5["corpora"] is not None and len(figure5["corpora"]) < 2:
        raise ValueError("config: experiments.figure5.corpora: Figure 5 compares two or more")
    runs = {corpora.reference_run(config)}
    runs |= {corpora.ability_run(config, a) for a in config["abilities"]}
    runs |= {corpora.language_run(config, lang) for lang in config["languages"]}
    for run in figure5["runs"] or []:
        if run not in runs:
            raise ValueError(
                f"config: experiments.figure5.runs names {run!r}, which is not a masked CPT "
                f"run of the method ({', '.join(sorted(runs))})"
            )


def check_experiments(config):
    """Reference-model names that join into model names; the out-of-domain ability exists."""
    experiments = config["experiments"]
    for name in experiments["reference_models"]:
        if not is_model_name_part(name):
            raise ValueError(
                f"config: experiments.reference_models.{name}: a name is letters, digits and _"
            )
    ood = experiments.get("ood")
    if ood and ood["ability"] not in config["abilities"]:
        raise ValueError(
            f"config: experiments.ood.ability names {ood['ability']!r}, which is not in abilities"
        )
