"""The model card (README.md) of every model the workflow keeps, in the hub's format: YAML
metadata that the hub indexes (`base_model`, `base_model_relation`, `language`, `datasets`,
`license`, `tags`, and a `model-index` of the workflow's own scores), then what the model is,
how it was made, how it scored with its intervals, and the paper to cite.

Built with `huggingface_hub`'s card classes, so that a card loads back with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from maec.io import atomic
from maec.io.lineage import CARD_NAME
from maec.report.stats import accuracy_interval
from maec.report.tables.accuracy import metric_of
from maec.report.tables.intervals import correctness_from_files

PAPER_TITLE = (
    "Extracting and Combining Abilities For Building Multi-lingual Ability-enhanced "
    "Large Language Models"
)
CITATION = f"""@misc{{maec,
  title  = {{{PAPER_TITLE}}},
  author = {{Anonymous}},
  note   = {{ACL submission}},
}}"""
BENCHMARKS = {"mgsm": "MGSM", "mmlu": "multilingual MMLU"}


@dataclass(frozen=True)
class Score:
    """One benchmark language's accuracy (a fraction) with its interval and question count."""

    bench: str
    lang: str
    accuracy: float
    low: float
    high: float
    n: int
    metric: str
    dataset: str | None = None  # the benchmark's hub id


@dataclass(frozen=True)
class CardFacts:
    """What a card says. `relation`: the hub's base_model_relation (merge, or finetune for a
    training run); `corpora`: (training run, tokens); `composition`: tensor type ->
    tensors of T, for a MAEC merge."""

    name: str
    label: str
    description: str
    summary: str
    relation: str
    base_model: str
    languages: Sequence[str]
    settings: Mapping = field(default_factory=dict)
    corpora: Sequence[tuple[str, int]] = ()
    datasets: Sequence[str] = ()
    license: str | None = None
    composition: Mapping[str, int] = field(default_factory=dict)
    scores: Sequence[Score] = ()
    level: float = 0.95


def backbone_license(backbone_dir: str | Path) -> str | None:
    """The license in the backbone's own card, if it has a card that names one."""
    card = Path(backbone_dir) / "README.md"
    if not card.is_file():
        return None
    return ModelCard.load(card).data.to_dict().get("license")


def card_data(facts: CardFacts) -> ModelCardData:
    eval_results = [
        EvalResult(
            task_type="text-generation",
            dataset_type=score.dataset or score.bench,
            dataset_name=f"{BENCHMARKS.get(score.bench, score.bench)} ({score.lang})",
            dataset_config=score.lang,
            dataset_split="test",
            metric_type="accuracy",
            metric_name=score.metric,
            metric_value=round(100 * score.accuracy, 2),
        )
        for score in facts.scores
    ]
    return ModelCardData(
        model_name=facts.name,
        base_model=facts.base_model,
        base_model_relation=facts.relation,
        library_name="transformers",
        language=list(facts.languages),
        datasets=list(facts.datasets) or None,
        license=facts.license,
        tags=["maec", "multilingual", facts.relation],
        eval_results=eval_results or None,
    )


def flat_settings(settings: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    """Nested settings as (dotted key, value) pairs: `merge.gamma`, 0.2."""
    items = []
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            items += flat_settings(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def card_text(facts: CardFacts) -> str:
    """The card's body (markdown), below its metadata."""
    parts = [
        f"# {facts.name}",
        f"{facts.label}: {facts.description}, made from `{facts.base_model}` by the MAEC "
        f"workflow. {facts.summary}",
    ]
    if facts.composition:
        total = sum(facts.composition.values())
        types = ", ".join(f"{kind} {n}" for kind, n in sorted(facts.composition.items()))
        parts.append(f"|T| = {total} ability tensors ({types}).")
    if facts.scores:
        level = round(100 * facts.level)
        rows = [
            f"| {BENCHMARKS.get(s.bench, s.bench)} | {s.lang} | {100 * s.accuracy:.1f} | "
            f"{100 * s.low:.1f} – {100 * s.high:.1f} | {s.n} |"
            for s in facts.scores
        ]
        parts += [
            "## Evaluation",
            f"Accuracy (%) with its {level} % bootstrap interval over the questions.",
            "\n".join(
                [
                    "| benchmark | language | accuracy | interval | questions |",
                    "|---|---|---|---|---|",
                ]
                + rows
            ),
        ]
    if facts.corpora:
        rows = [f"| `{run}` | {tokens:,} |" for run, tokens in facts.corpora]
        parts += [
            "## Training",
            "The training runs this model is made of, with their planned tokens.",
            "\n".join(["| run | tokens |", "|---|---|"] + rows),
        ]
    if facts.settings:
        parts += [
            "## Settings",
            "Every setting of the workflow that shaped this model; `provenance.json` beside "
            "this card holds them with a hash of every input (`python -m maec inspect DIR "
            "--verify`).",
            "\n".join(
                ["| setting | value |", "|---|---|"]
                + [f"| `{key}` | `{json.dumps(v)}` |" for key, v in flat_settings(facts.settings)]
            ),
        ]
    parts += ["## Citation", f"```bibtex\n{CITATION}\n```"]
    return "\n\n".join(parts) + "\n"


def model_card(facts: CardFacts) -> ModelCard:
    return ModelCard(f"---\n{card_data(facts).to_yaml()}\n---\n\n{card_text(facts)}")


def composition(similarity_tables: Sequence[str | Path]) -> dict[str, int]:
    """Tensor type -> how many tensors of T (the `selected` rows of the similarity tables)."""
    counts: dict[str, int] = {}
    for table in similarity_tables:
        rows = pd.read_csv(table, sep="\t")
        for kind in rows.loc[rows["selected"] == 1, "type"]:
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def read_scores(
    score_paths: Sequence[str | Path], hub_ids: Mapping[str, str | None], intervals: Mapping
) -> list[Score]:
    """Each score file's accuracy with its bootstrap interval (`intervals`: resamples, seed,
    level, as the tables'), from the per-question records beside it."""
    cells = correctness_from_files(score_paths, labels={})
    metrics = {}
    for path in score_paths:
        score = json.loads(Path(path).read_text(encoding="utf-8"))
        metrics[(score["bench"], score["lang"])] = metric_of(score)
    scores = []
    for (_, bench, lang), correct in cells.items():
        interval = accuracy_interval(list(correct.values()), **intervals)
        scores.append(
            Score(
                bench=bench,
                lang=lang,
                accuracy=interval.estimate,
                low=interval.low,
                high=interval.high,
                n=len(correct),
                metric=metrics[(bench, lang)],
                dataset=hub_ids.get(bench),
            )
        )
    return scores


def write_card(model_dir: str | Path, card: ModelCard, copy: str | Path) -> None:
    """The card into the model's directory (what a user uploads) and its copy (what the
    workflow tracks), each written whole."""
    atomic.write_text(Path(model_dir) / CARD_NAME, str(card))
    atomic.write_text(copy, str(card))
