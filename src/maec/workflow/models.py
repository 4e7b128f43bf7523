"""Every kind of evaluated model in one registry (`MODEL_KINDS`): its name, row label, where
it lives (`model_dir`), what it costs (`training_runs`: run directory -> planned tokens, for
#Tokens and ICER) and which baselines it is made of (`baselines`). Each kind is an entry of
a family (a class below): the backbone, reference models, MAEC, the joint model, CPT
baselines, domain adaptation, task vectors and layer swapping. A new kind of a family is one
entry, built by the family's rule; a new family is a class here and its rule. Pure Python,
functions of the validated config.
"""

from dataclasses import dataclass, field

from maec.workflow import corpora
from maec.workflow.naming import joint_abilities
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
from maec.workflow.variants import variant_inputs, variant_merge_settings, variant_settings

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

    def model_dir(self, config, name, seed_part: str) -> str:
        """Where the model of a parsed name (`maec.workflow.model_names.ModelName`) lives."""
        raise NotImplementedError

    def evaluation_inputs(self, config, name, seed_part: str) -> dict:
        """What an evaluation of the model reads: its directory."""
        return {"model": self.model_dir(config, name, seed_part)}

    def merged_on_load(self, config, name) -> dict | None:
        """The merge settings of a model that an evaluation merges in memory (never written)."""
        return None

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

    def evaluation_inputs(self, config, name, seed_part):
        """A merge variant is only scored: its evaluation reads the backbone and the deltas
        and merges them in memory (`maec.evaluation.on_load`)."""
        if name.variant is None:
            return super().evaluation_inputs(config, name, seed_part)
        return variant_inputs(config, name.ability, name.variant, seed_part)

    def merged_on_load(self, config, name):
        if name.variant is None:
            return None
        return variant_merge_settings(config, name.ability, name.variant)

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
            raise ValueError(
                f"model {name}: abilities.{name.ability}.translated_corpora is empty, and no "
                "`translation` model translates its corpus"
            )
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


def joint_abilities_of(config) -> list[str]:
    """The abilities of the joint model (experiments.beyond.joint), in name order; null:
    every ability when there are two or more. [] when there is none."""
    listed = config["experiments"].get("beyond", {}).get("joint")
    abilities = sorted(config["abilities"] if listed is None else listed)
    return abilities if len(abilities) >= 2 else []
