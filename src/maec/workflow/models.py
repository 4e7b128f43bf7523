"""Every kind of evaluated model in one registry (`MODEL_KINDS`): its name, row label, where
it lives (`model_dir`), what it costs (`training_runs`: run directory -> planned tokens, for
#Tokens and ICER) and which baselines it is made of (`baselines`). Each kind is an entry of
a family (a class below): the backbone, reference models, MAEC, the joint model, CPT
baselines, domain adaptation, task vectors and layer swapping. A new kind of a family is one
entry, built by the family's rule; a new family is a class here and its rule.

A **model name** is `backbone`, or `{kind}_{ability}` (`maec_math`, `fcpt_la_science`), with
`.{variant}` for a kind that has variants (`maec_math.k2-0.6`, a merge variant of
`maec.workflow.naming`); an ability holds no `_` or `.`, so the last `_` ends the kind and
the first `.` starts the variant. A named kind's model is `{kind}-{name}`
(`reference-mistral_7b`), a joint model's abilities are joined by `+` in name order
(`joint_math+science`). Pure Python, functions of the validated config.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from maec.workflow import corpora
from maec.workflow.config_checks import joint_abilities_of
from maec.workflow.naming import (
    ABILITY_NAME_RULE,
    format_variant,
    is_ability_name,
    is_model_name_part,
    joint_abilities,
    parse_variant,
)
from maec.workflow.paths import (
    BACKBONE,
    adaptation_dir,
    baseline_dir,
    cpt_dir,
    layer_swap_path,
    merged_model_dir,
    reference_download_dir,
    task_vector_path,
)
from maec.workflow.variants import variant_settings

# ---- the families of model kinds ------------------------------------------------------------


def _grammar(default: bool):
    return field(default=default, kw_only=True)


@dataclass(frozen=True)
class ModelKind:
    """A kind of evaluated model: its name (`kind`), its row label, and its name grammar:
    `per_ability` names end in `_{ability}`, `variants` allows a `.{variant}` suffix, `named`
    names end in `-{name}` instead, `joint` names hold several abilities. `trained`: made
    from the workflow's training runs, so there is one model per training seed."""

    kind: str
    label: str
    per_ability: bool = _grammar(True)
    variants: bool = _grammar(False)
    named: bool = _grammar(False)
    joint: bool = _grammar(False)
    trained: bool = _grammar(True)

    def model_dir(self, config, name: "ModelName", seed_part: str) -> str:
        raise NotImplementedError

    def available(self, config, ability: str) -> bool:
        """Whether the config lets the workflow build this kind for the ability."""
        return True

    def training_runs(self, config, ability: str) -> dict[str, int]:
        return {}

    def baselines(self) -> tuple[str, ...]:
        """The baseline kinds whose trained runs the model is made of."""
        return ()


@dataclass(frozen=True)
class Backbone(ModelKind):
    description: str
    per_ability: bool = _grammar(False)
    trained: bool = _grammar(False)

    def model_dir(self, config, name, seed_part):
        return BACKBONE


@dataclass(frozen=True)
class Reference(ModelKind):
    """A model of experiments.reference_models, evaluated like the backbone; its label is
    the config's."""

    description: str
    per_ability: bool = _grammar(False)
    named: bool = _grammar(True)
    trained: bool = _grammar(False)

    def model_dir(self, config, name, seed_part):
        """A workflow output (results/...) as it is; anything else, a hub id or a directory
        in the hub's layout, where its download (or link) lands, as the backbone's does."""
        models = config["experiments"]["reference_models"]
        if name.name not in models:
            raise ValueError(f"model {name}: {name.name!r} is not in experiments.reference_models")
        source = models[name.name]["source"]
        return source if source.startswith("results/") else reference_download_dir(name.name)


@dataclass(frozen=True)
class Maec(ModelKind):
    description: str
    variants: bool = _grammar(True)

    def model_dir(self, config, name, seed_part):
        if name.variant is not None:
            variant_settings(config, name.ability, name.variant)  # the config knows its names
        return merged_model_dir(name.ability, name.variant, seed_part)

    def training_runs(self, config, ability):
        """Its masked CPT runs (the ability run, the reference run and every language run),
        each in full, shared or not, as the paper's 12B = 6 runs x 2B. The importance CPT on
        the sample C' is left out: the paper's 12B leaves no room for it."""
        tokens = config["masked_cpt"]["tokens"]
        return {cpt_dir(run): tokens for run in corpora.masked_runs(config, ability)}


@dataclass(frozen=True)
class Joint(ModelKind):
    description: str
    joint: bool = _grammar(True)

    def model_dir(self, config, name, seed_part):
        configured = joint_abilities_of(config)
        if joint_abilities(name.ability) != configured:
            raise ValueError(
                f"model {name}: experiments.beyond.joint gives the abilities {configured}"
            )
        return merged_model_dir(name.ability, None, seed_part)

    def training_runs(self, config, abilities):
        runs = {}
        for ability in joint_abilities(abilities):
            runs |= MODEL_KINDS["maec"].training_runs(config, ability)
        return runs


@dataclass(frozen=True)
class TrainingRun(ModelKind):
    """A model that is one training run's output, with its own token budget
    (experiments.baselines.tokens)."""

    def run_dir(self, config, ability: str, seed_part: str = "") -> str:
        raise NotImplementedError

    def model_dir(self, config, name, seed_part):
        return self.run_dir(config, name.ability, seed_part)

    def tokens(self, config) -> int:
        return config["experiments"]["baselines"]["tokens"][self.kind]

    def training_runs(self, config, ability):
        return {self.run_dir(config, ability): self.tokens(config)}

    def baselines(self):
        return (self.kind,)


_TUNINGS = {"full": "full", "lora": "LoRA"}
_CORPUS_GROUPS = {
    "ability": "the ability corpus",
    "general": "every general corpus",
    "translated": "the translated ability corpora",
}


@dataclass(frozen=True)
class BaselineCPT(TrainingRun):
    """CPT of the backbone with `tuning` (full or lora) on a mixture of corpus groups, in
    this order: `ability` (the ability corpus), `general` (every language's general corpus),
    `translated` (the ability corpus's translations)."""

    tuning: str
    corpora: tuple[str, ...]

    @property
    def description(self) -> str:
        groups = " and ".join(_CORPUS_GROUPS[group] for group in self.corpora)
        return f"{_TUNINGS[self.tuning]} CPT on {groups}"

    def run(self, config, ability) -> str:
        """The run name: the corpora it trains on, joined by +."""
        groups = dict(
            ability=[corpora.ability_corpus(config, ability)],
            general=corpora.general_corpora(config),
            translated=corpora.translated_corpora(config, ability),
        )
        return corpora.run_name([c for group in self.corpora for c in groups[group]])

    def available(self, config, ability):
        """The translated-corpus rows need translated corpora."""
        return "translated" not in self.corpora or bool(corpora.translated_corpora(config, ability))

    def run_dir(self, config, ability, seed_part=""):
        return baseline_dir(self.tuning, self.run(config, ability), seed_part)

    def model_dir(self, config, name, seed_part):
        if not self.available(config, name.ability):
            raise ValueError(f"model {name}: abilities.{name.ability}.translated_corpora is empty")
        return self.run_dir(config, name.ability, seed_part)


@dataclass(frozen=True)
class Adaptation(TrainingRun):
    """Domain adaptation (DA): the baseline `start` (CPT on the general corpora) continued,
    with its tuning, on the ability corpus."""

    start: str

    @property
    def tuning(self) -> str:
        return MODEL_KINDS[self.start].tuning

    @property
    def description(self) -> str:
        start, tuning = MODEL_KINDS[self.start].label, _TUNINGS[self.tuning]
        return f"{start}, then {tuning} CPT on the ability corpus"

    def run_dir(self, config, ability, seed_part=""):
        corpus = corpora.ability_corpus(config, ability)
        return adaptation_dir(self.tuning, corpus, seed_part)

    def training_runs(self, config, ability):
        start = MODEL_KINDS[self.start].training_runs(config, ability)
        return start | super().training_runs(config, ability)

    def baselines(self):
        return (self.start, self.kind)


@dataclass(frozen=True)
class ExpertMerge(ModelKind):
    """A model merged from two baselines' trained runs (`experts`: the ability one, the
    languages one), with no training of its own."""

    experts: tuple[str, str]

    def expert_inputs(self, config, ability, seed_part="") -> dict[str, str]:
        """The trained runs it is merged from, as a rule's inputs."""
        ability_expert, language_expert = (MODEL_KINDS[k] for k in self.experts)
        return dict(
            ability_model=ability_expert.run_dir(config, ability, seed_part),
            language_model=language_expert.run_dir(config, ability, seed_part),
        )

    def training_runs(self, config, ability):
        runs = {}
        for expert in self.experts:
            runs |= MODEL_KINDS[expert].training_runs(config, ability)
        return runs

    def baselines(self):
        return self.experts


@dataclass(frozen=True)
class TaskVectors(ExpertMerge):
    """The experts' task vectors added to the backbone by task arithmetic (F-TV, L-TV, of
    `tuning` full or lora), or combined by a merge method (`maec.merge_methods`)."""

    tuning: str
    merge_method: str | None = None

    @property
    def description(self) -> str:
        experts = " and ".join(MODEL_KINDS[k].label for k in self.experts)
        how = f"by {self.merge_method.upper()}" if self.merge_method else "added to the backbone"
        return f"task vectors of {experts} {how}"

    def model_dir(self, config, name, seed_part):
        return task_vector_path(self.tuning, name.ability, ".hf", seed_part, self.merge_method)


@dataclass(frozen=True)
class LayerSwap(ExpertMerge):
    """Layer Swapping: the language expert's bottom and top layers around the ability
    expert's."""

    @property
    def description(self) -> str:
        ability, language = (MODEL_KINDS[k].label for k in self.experts)
        return f"Layer Swapping: {ability}'s middle layers, {language}'s bottom and top"

    def model_dir(self, config, name, seed_part):
        return layer_swap_path(name.ability, ".hf", seed_part)


# ---- the registry: one entry per kind ---------------------------------------------------

_FULL, _LORA = ("fcpt_a", "fcpt_l"), ("lcpt_a", "lcpt_l")  # F-TV's and L-TV's experts

MODEL_KINDS: dict[str, ModelKind] = {
    entry.kind: entry
    for entry in [
        Backbone("backbone", "Backbone", "the backbone Θ_o"),
        Maec("maec", "MAEC", "the MAEC merge (Eq. 5), or a variant of it"),
        BaselineCPT("fcpt_la", "F-CPT_{L&A}", "full", ("ability", "general")),
        BaselineCPT("fcpt_a", "F-CPT_A", "full", ("ability",)),
        BaselineCPT("fcpt_l", "F-CPT_L", "full", ("general",)),
        BaselineCPT("lcpt_la", "L-CPT_{L&A}", "lora", ("ability", "general")),
        BaselineCPT("lcpt_a", "L-CPT_A", "lora", ("ability",)),
        BaselineCPT("lcpt_l", "L-CPT_L", "lora", ("general",)),
        Adaptation("fcpt_l_da", "F-CPT_L & DA", "fcpt_l"),
        Adaptation("lcpt_l_da", "L-CPT_L & DA", "lcpt_l"),
        BaselineCPT("fcpt_lt", "F-CPT_{L&T}", "full", ("general", "translated")),
        BaselineCPT("fcpt_t", "F-CPT_T", "full", ("translated",)),
        TaskVectors("ftv", "F-TV", _FULL, "full"),
        TaskVectors("ltv", "L-TV", _LORA, "lora"),
        TaskVectors("ftv_ties", "F-TV TIES", _FULL, "full", "ties"),
        TaskVectors("ftv_dare", "F-TV DARE", _FULL, "full", "dare"),
        TaskVectors("ltv_ties", "L-TV TIES", _LORA, "lora", "ties"),
        TaskVectors("ltv_dare", "L-TV DARE", _LORA, "lora", "dare"),
        LayerSwap("lswap", "Layer swap", _FULL),
        Joint("joint", "MAEC joint", "MAEC with several abilities in one model"),
        Reference("reference", "Reference", "a model of experiments.reference_models"),
    ]
}


def find_kind(family: type, **facts) -> ModelKind:
    """The kind of a family with these facts: `find_kind(TaskVectors, tuning="full",
    merge_method=None)` is F-TV (a subclass's kinds are not its parent family's)."""
    for kind in MODEL_KINDS.values():
        if type(kind) is family and all(getattr(kind, k) == v for k, v in facts.items()):
            return kind
    raise ValueError(f"no {family.__name__} kind has {facts}")


def baseline_of_run(config, tuning: str, run: str) -> BaselineCPT:
    """The baseline kind whose run this is (run names spell their corpora, so one fits)."""
    for kind in MODEL_KINDS.values():
        if type(kind) is not BaselineCPT or kind.tuning != tuning:
            continue
        for ability in config["abilities"]:
            if kind.available(config, ability) and kind.run(config, ability) == run:
                return kind
    raise ValueError(f"{baseline_dir(tuning, run)}: no baseline of the config trains on {run}")


# ---- model names --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelName:
    """A parsed model name; `str()` formats it back."""

    kind: str
    ability: str | None = None
    variant: str | None = None
    name: str | None = None  # of a named kind

    def __str__(self) -> str:
        text = self.kind if self.ability is None else f"{self.kind}_{self.ability}"
        text = text if self.name is None else f"{text}-{self.name}"
        return text if self.variant is None else f"{text}.{self.variant}"


def parse_model(name: str) -> ModelName:
    """`backbone`, `{kind}_{ability}`, `{kind}_{ability}.{variant}` or `{kind}-{name}` as a
    ModelName. Raises ValueError naming the model and the part it cannot read."""

    def bad(part: str, problem: str) -> ValueError:
        return ValueError(f"model name {name!r}: cannot read {part!r} ({problem})")

    base, dot, variant = name.partition(".")
    named_kind, dash, model_name = base.partition("-")
    if dash and named_kind in MODEL_KINDS and MODEL_KINDS[named_kind].named:
        if not is_model_name_part(model_name):
            raise bad(model_name, "a name is letters, digits and _")
        kind, ability = named_kind, None
    elif base in MODEL_KINDS and MODEL_KINDS[base].named:
        raise bad(base, f"a {base} model is {base}-{{name}}")
    elif base in MODEL_KINDS and not MODEL_KINDS[base].per_ability:
        kind, ability, model_name = base, None, None
    else:
        kind, _, ability = base.rpartition("_")
        if kind not in MODEL_KINDS or not MODEL_KINDS[kind].per_ability:
            per_ability = [k for k, spec in MODEL_KINDS.items() if spec.per_ability]
            raise bad(base, f"a name is {{kind}}_{{ability}}, kinds {', '.join(per_ability)}")
        if MODEL_KINDS[kind].joint:
            try:
                joint_abilities(ability)
            except ValueError as error:
                raise bad(ability, str(error)) from None
        elif not is_ability_name(ability):
            raise bad(ability, f"an ability is {ABILITY_NAME_RULE}")
        model_name = None
    if dot:
        if not MODEL_KINDS[kind].variants:
            raise bad(variant, f"a {kind} model has no variants")
        try:
            parse_variant(variant)
        except ValueError as error:
            raise ValueError(f"model name {name!r}: {error}") from None
    return ModelName(kind, ability, variant if dot else None, model_name)


def format_model(
    kind: str,
    ability: str | None = None,
    variant: str | Mapping[str, float | str | bool | None] | None = None,
    name: str | None = None,
) -> str:
    """A model's name: `format_model("maec", "math", {"k2": 0.6})` is `maec_math.k2-0.6`,
    `format_model("reference", name="mistral_7b")` is `reference-mistral_7b`. A variant is
    a name or parts for `format_variant`."""
    if isinstance(variant, Mapping):
        variant = format_variant(variant)
    wanted = ModelName(kind, ability, variant, name)
    text = str(wanted)
    if parse_model(text) != wanted:
        raise ValueError(
            f"model name {text!r}: kind {kind!r}, ability {ability!r}, name {name!r} do not fit"
        )
    return text


# ---- where a model lives, what it costs ---------------------------------------------------


def model_dir(config, model: str, seed_part: str = "") -> str:
    """Where an evaluated model of a training seed (its path part) lives."""
    name = parse_model(model)
    kind = MODEL_KINDS[name.kind]
    if seed_part and not kind.trained:
        raise ValueError(f"model {model!r} is not trained, so it has no seed {seed_part!r}")
    if kind.per_ability and not kind.joint and name.ability not in config["abilities"]:
        raise ValueError(f"model name {model!r}: {name.ability!r} is not in abilities")
    return kind.model_dir(config, name, seed_part)


def model_training_runs(config, model: str) -> dict[str, int]:
    """The training runs a model is counted to cost (#Tokens, ICER): run directory ->
    planned tokens. A model on top of other runs counts them too (a DA row its CPT_L run,
    a task-vector row both of its runs); docs/evaluation.md has the accounting."""
    name = parse_model(model)
    return MODEL_KINDS[name.kind].training_runs(config, name.ability)


def is_trained(model: str) -> bool:
    """Whether a model is made from the workflow's training runs (it has one per seed)."""
    return MODEL_KINDS[parse_model(model).kind].trained
