"""maec.workflow.config_checks and the schema, in this process, on the shipped configs as the
workflow fills them: each broken config is refused naming its key, before any job is
planned (two of these cases also go through `snakemake`: tests/workflow/test_refusals.py)."""

import copy
import re

import pytest
from helpers.configs import SCHEMA
from helpers.workflow import load_config
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from maec.workflow.config_checks import check_config, selection_abilities

pytestmark = pytest.mark.reliability

PAPER = load_config("config.yaml")
DEMO = load_config("demo.yaml")


def validated(name: str) -> dict:
    config = load_config(name)
    validate(config, SCHEMA)
    return config


def refused(config) -> str:
    """The message that the workflow's start (schema, then the checks) refuses `config`
    with; fails when it is accepted."""
    try:
        validate(config, SCHEMA)
        check_config(config)
    except (WorkflowError, ValueError) as error:
        return str(error)
    raise AssertionError("the config was accepted")


@pytest.mark.parametrize("name", ["config.yaml", "demo.yaml"])
def test_shipped_configs_pass(name):
    config = validated(name)
    check_config(config)
    assert selection_abilities(config) == config["experiments"]["selection"].get(
        "abilities", list(config["abilities"])
    )


BROKEN = {
    "reference language among the targets": (
        lambda c: c["languages"].append("en"),
        "languages lists the reference language 'en'",
    ),
    "a language code no rule builds": (
        lambda c: c["evaluation"]["mgsm"]["languages"].append("pt-BR"),
        r"evaluation\.mgsm\.languages\[5\]: 'pt-BR' is not a language code",
    ),
    "mu for a language not in languages": (
        lambda c: c["language_weights"]["mu"].update(fr=1.0),
        r"language_weights\.mu\.fr names a language not in languages",
    ),
    "an averaged language not scored": (
        lambda c: c["abilities"]["science"].update(average=["es", "zh"]),
        r"abilities\.science\.average names 'zh'",
    ),
    "a joint model of one ability": (
        lambda c: c["experiments"]["beyond"].update(joint=["math"]),
        r"experiments\.beyond\.joint lists \['math'\]: a joint model needs two",
    ),
    "a joint model of an unknown ability": (
        lambda c: c["experiments"]["beyond"].update(joint=["math", "code"]),
        r"experiments\.beyond\.joint names 'code', which is not in abilities",
    ),
    "ablations for an unknown ability": (
        lambda c: c["experiments"].update(ablation_abilities=["math", "code"]),
        r"experiments\.ablation_abilities names 'code', which is not in abilities",
    ),
    "Figure 5 of a corpus the method does not train on": (
        lambda c: c["experiments"]["figure5"].update(corpora=["general_en", "code_en"]),
        r"experiments\.figure5\.corpora names 'code_en', which is not a corpus",
    ),
    "Figure 5a of a run the method does not make": (
        lambda c: c["experiments"]["figure5"].update(runs=["general_zh"]),
        r"experiments\.figure5\.runs names 'general_zh', which is not a masked CPT run",
    ),
    "a translation into a language the config does not build": (
        lambda c: c["translation"].update(languages=["es", "fr"]),
        r"translation\.languages\[1\]: 'fr' is not in languages",
    ),
    "a translation model without a code of a language": (
        lambda c: (
            c["languages"].append("yue"),
            c["general_corpora"].update(yue=c["general_corpora"]["zh"]),
            c["translation"].update(languages=["yue"]),
        ),
        r"translation\.codes\.yue is missing",
    ),
    "a selection for an unknown ability": (
        lambda c: c["experiments"]["selection"].update(abilities=["chemistry"]),
        r"experiments\.selection\.abilities names 'chemistry', which is not in abilities",
    ),
    "a token budget under one batch": (
        lambda c: c["importance_cpt"].update(tokens=c["training"]["batch_tokens"] - 1),
        r"importance_cpt\.tokens: \d+ tokens are less than one batch \(training\.batch_tokens",
    ),
    "a baseline's budget under one batch": (
        lambda c: c["experiments"]["baselines"]["tokens"].update(fcpt_l=1000),
        r"experiments\.baselines\.tokens\.fcpt_l: 1000 tokens are less than one batch",
    ),
    "a batch smaller than a block": (
        lambda c: c["training"].update(batch_tokens=c["tokenize"]["block_size"] - 1),
        r"training\.batch_tokens \d+ is less than one block \(tokenize\.block_size",
    ),
    "a key-neuron pattern that does not compile": (
        lambda c: c["key_neurons"].update(exclude=["embed_tokens", "lm_head("]),
        r"key_neurons\.exclude\[1\]: 'lm_head\(' is not a regular expression",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_configs_are_refused_naming_the_key(case):
    config = validated("config.yaml")
    break_it, message = BROKEN[case]
    broken = copy.deepcopy(config)
    break_it(broken)
    with pytest.raises(ValueError, match=message):
        check_config(broken)


def _broken(mutate):
    config = copy.deepcopy(PAPER)
    mutate(config)
    return config


INVALID = {
    "unknown key": (
        _broken(lambda c: c["merge"].update(gama=0.3)),
        r"gama",
    ),
    "wrong type": (
        _broken(lambda c: c["merge"].update(gamma="high")),
        r"gamma|high",
    ),
    "k1 = 0": (
        _broken(lambda c: c["key_neurons"].update(k1=0)),
        r"k1",
    ),
    "no seed": (
        _broken(lambda c: c.update(seeds=0)),
        r"seeds",
    ),
    "k1 > 1": (
        _broken(lambda c: c["key_neurons"].update(k1=5)),
        r"k1",
    ),
    "language with no corpus": (
        _broken(lambda c: c["general_corpora"].pop("bn")),
        r"general_corpora\.bn",
    ),
    "no nodes": (
        _broken(lambda c: c["resources"]["train"].update(nodes=0)),
        r"nodes",
    ),
    "unknown optimizer state": (
        _broken(lambda c: c["training"].update(optimizer_state="compressed")),
        r"optimizer_state|compressed",
    ),
    "unknown delta format": (
        _broken(lambda c: c["deltas"].update(format="coo")),
        r"format|coo",
    ),
    "ability with no corpus": (
        _broken(lambda c: c["abilities"]["math"].pop("corpus")),
        r"corpus",
    ),
    "averaged language not scored": (
        _broken(lambda c: c["abilities"]["science"].update(average=["es", "zh"])),
        r"abilities\.science\.average names 'zh'",
    ),
    "translation into a language not in languages": (
        _broken(
            lambda c: c["abilities"]["math"].update(translated_corpora={"fr": {"source": "x"}})
        ),
        r"abilities\.math\.translated_corpora\.fr",
    ),
    "bad reference model name": (
        _broken(lambda c: c["experiments"]["reference_models"].update({"a-b": {"source": "x"}})),
        r"experiments\.reference_models\.a-b",
    ),
    "out-of-domain ability not in abilities": (
        _broken(lambda c: c["experiments"]["ood"].update(ability="code")),
        r"experiments\.ood\.ability names 'code'",
    ),
    "unknown Table 2 row": (
        _broken(lambda c: c["experiments"].update(rows=["maec", "gpt3"])),
        r"gpt3",
    ),
    "baseline without a token budget": (
        _broken(lambda c: c["experiments"]["baselines"]["tokens"].pop("fcpt_t")),
        r"fcpt_t",
    ),
    "corpus that is no file, directory or hub id": (
        _broken(lambda c: c["abilities"]["science"]["corpus"].update(source="arxiv papers")),
        r"abilities\.science\.corpus\.source: 'arxiv papers' is neither",
    ),
    "k1 NaN": (
        _broken(lambda c: c["key_neurons"].update(k1=float("nan"))),
        r"key_neurons\.k1 is nan",
    ),
    "k2 NaN": (
        _broken(lambda c: c["abilities"]["math"].update(k2=float("nan"))),
        r"abilities\.math\.k2 is nan",
    ),
    "gamma NaN": (_broken(lambda c: c["merge"].update(gamma=float("nan"))), r"merge\.gamma is nan"),
    "eta infinite": (_broken(lambda c: c["merge"].update(eta=float("inf"))), r"merge\.eta is inf"),
    "a NaN in a selection grid": (
        _broken(lambda c: c["experiments"]["selection"]["eta"].append(float("nan"))),
        r"experiments\.selection\.eta\[2\] is nan",
    ),
    "negative gamma": (_broken(lambda c: c["merge"].update(gamma=-0.5)), r"-0\.5 is less than"),
    "negative mu": (
        _broken(lambda c: c["language_weights"]["mu"].update(es=-1.0)),
        r"-1\.0 is less than",
    ),
    "negative beta": (
        _broken(lambda c: c["ability_weights"].update(beta=-0.2)),
        r"-0\.2 is less than",
    ),
    "local corpus file with a configuration name": (
        _broken(lambda c: c["general_corpora"]["es"].update(source="corpora/es.jsonl")),
        r"general_corpora\.es\.source: corpora/es\.jsonl: a local file is read whole",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_config_is_refused_naming_the_key(case):
    config, key = INVALID[case]
    message = refused(config)
    assert re.search(key, message), message


def language_keys(config, languages, path=""):
    """(path, how) of every place in `config` that holds one of `languages`: a dict key
    (`general_corpora.es`), a list item (`languages[0]`) or a value (`reference_language`)."""
    if isinstance(config, dict):
        for key, value in config.items():
            inner = f"{path}.{key}" if path else key
            if key in languages:
                yield inner, "key"
            yield from language_keys(value, languages, inner)
    elif isinstance(config, list):
        for i, value in enumerate(config):
            yield from language_keys(value, languages, f"{path}[{i}]")
    elif config in languages:
        yield path, "value"


def with_code(config, path, how, code):
    """`config` with `code` in place of the language at `path`."""
    config = copy.deepcopy(config)
    *parents, last = re.findall(r"[^.\[\]]+", path)
    holder = config
    for part in parents:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    if how == "key":
        holder[code] = holder.pop(last)
    elif isinstance(holder, list):
        holder[int(last)] = code
    else:
        holder[last] = code
    return config


def first_of_each_key():
    """One place per config key that holds languages (list indices and dict keys aside)."""
    places = {}
    for path, how in language_keys(DEMO, {DEMO["reference_language"], *DEMO["languages"]}):
        key = re.sub(r"\[\d+\]$", "", path) if how == "value" else path.rpartition(".")[0]
        places.setdefault(key or path, (path, how))
    return places


def test_every_config_key_that_holds_languages_is_found():
    assert set(first_of_each_key()) == {
        "reference_language",
        "languages",
        "general_corpora",
        "language_weights.mu",
        "evaluation.mgsm.languages",
        "evaluation.mmlu.languages",
        "abilities.math.translated_corpora",
        "abilities.science.translated_corpora",
    }


@pytest.mark.parametrize("key", sorted(first_of_each_key()))
def test_a_language_code_no_rule_could_build_is_refused_naming_the_key(key):
    path, how = first_of_each_key()[key]
    shown = path.rpartition(".")[0] + ".pt-BR" if how == "key" else path
    message = refused(with_code(DEMO, path, how, "pt-BR"))
    assert f"config: {shown}: 'pt-BR' is not a language code" in message


def test_an_ability_name_that_would_share_the_general_corpora_is_refused():
    config = copy.deepcopy(PAPER)
    config["abilities"]["general"] = config["abilities"].pop("math")
    assert "config: abilities.general: 'general' is not an ability name" in refused(config)


def test_demo_blocks_fit_the_world_backbone_positions():
    config = copy.deepcopy(DEMO)
    config["tokenize"]["block_size"] = config["world"]["model"]["max_positions"] * 2
    config["training"]["batch_tokens"] = config["tokenize"]["block_size"] * 16
    config["world"]["pretrain"]["batch_tokens"] = config["training"]["batch_tokens"]
    message = refused(config)
    assert "tokenize.block_size 512 exceeds world.model.max_positions 256" in message


def test_the_demo_world_scores_only_languages_it_builds():
    config = copy.deepcopy(DEMO)
    config["languages"].remove("zh")
    config["general_corpora"].pop("zh")
    message = refused(config)
    assert "evaluation.mgsm.languages[2]: 'zh' is not a language the demo world builds" in message
    paper = copy.deepcopy(PAPER)  # a hub benchmark may score a language without weights
    paper["languages"].remove("zh")
    paper["general_corpora"].pop("zh")
    validate(paper, SCHEMA)
    check_config(paper)
