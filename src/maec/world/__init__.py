"""The offline demo world: corpora, benchmarks, tokenizer and backbone, all from a seed.

`generate_world(out_dir, seed=...)` writes (every file depends only on the seed, the sizes
and its own name, never on the order of generation):

    corpora/general_{lang}.jsonl      general text, every language        {"text": ...}
    corpora/{ability}_en.jsonl        English ability text (math, science)
    mgsm/mgsm_{lang}.tsv              MGSM-format test set                question<TAB>answer
    mgsm/mgsm_{lang}_dev.tsv          dev set, for choosing hyper-parameters
    mgsm/exemplars.json               {lang: [{"q", "a"}] * 8}
    mmlu/{lang}_{dev,val,test}.json   Okapi-format multiple choice (dev: few-shot; val: selection)

`translate_ability_corpora(paths, seed=...)` writes the English ability corpora in other
languages (item for item the same documents), at the paths given.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from maec.io.atomic import write_text
from maec.world.backbone import backbone_config, init_backbone
from maec.world.benchmarks import (
    math_items,
    mgsm_exemplars,
    mgsm_rows,
    mgsm_tsv,
    okapi_records,
    science_items,
)
from maec.world.corpora import ABILITIES, ability_corpus, general_corpus
from maec.world.lexicon import LANGUAGES
from maec.world.tokenizer import train_tokenizer

__all__ = [
    "WorldSizes",
    "generate_world",
    "translate_ability_corpora",
    "train_tokenizer",
    "backbone_config",
    "init_backbone",
    "LANGUAGES",
    "ABILITIES",
]


@dataclass(frozen=True)
class WorldSizes:
    general_docs: int = 6000  # per language
    ability_docs: int = 4000  # per ability (English)
    easy_share: float = 0.6  # share of easy items in general text
    general_two_step_share: float = 0.2  # share of two-step problems among its math items
    mgsm_test: int = 250  # per language
    mgsm_dev: int = 100
    two_step_share: float = 0.5  # in MGSM test and dev
    mmlu_test: int = 40  # per subject and language (two subjects)
    mmlu_dev: int = 8
    mmlu_val: int = 16  # scored when choosing hyper-parameters


def _jsonl(texts: list[str]) -> str:
    return "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)


def generate_world(
    out_dir,
    *,
    seed: int,
    sizes: WorldSizes = WorldSizes(),
    languages=LANGUAGES,
    abilities=ABILITIES,
) -> list[Path]:
    """Write the demo world under out_dir; returns the paths written."""
    unknown = sorted(set(languages) - set(LANGUAGES))
    if unknown or "en" not in languages:
        raise ValueError(
            f"demo-world languages must include 'en' and come from {LANGUAGES}; "
            f"got {list(languages)}"
        )
    if set(abilities) - set(ABILITIES):
        raise ValueError(f"demo-world abilities must come from {ABILITIES}; got {list(abilities)}")
    out = Path(out_dir)
    contents: dict[str, str] = {}
    for lang in languages:
        contents[f"corpora/general_{lang}.jsonl"] = _jsonl(
            general_corpus(
                lang, sizes.general_docs, seed, sizes.easy_share, sizes.general_two_step_share
            )
        )
    for ability in abilities:
        contents[f"corpora/{ability}_en.jsonl"] = _jsonl(
            ability_corpus(ability, sizes.ability_docs, seed)
        )
    problems = math_items(seed, sizes.mgsm_test, sizes.mgsm_dev, sizes.two_step_share)
    for lang in languages:
        contents[f"mgsm/mgsm_{lang}.tsv"] = mgsm_tsv(mgsm_rows(lang, problems["test"]))
        contents[f"mgsm/mgsm_{lang}_dev.tsv"] = mgsm_tsv(mgsm_rows(lang, problems["dev"]))
    contents["mgsm/exemplars.json"] = (
        json.dumps(
            {lang: mgsm_exemplars(lang, problems["exemplars"]) for lang in languages},
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    items = science_items(seed, sizes.mmlu_test, sizes.mmlu_dev, sizes.mmlu_val)
    for lang in languages:
        for split in ("dev", "val", "test"):
            contents[f"mmlu/{lang}_{split}.json"] = (
                json.dumps(okapi_records(lang, split, items[split]), ensure_ascii=False, indent=1)
                + "\n"
            )
    paths = []
    for name, text in contents.items():
        write_text(out / name, text)
        paths.append(out / name)
    return paths


def translate_ability_corpora(
    paths: dict[str, dict[str, str | Path]], *, seed: int, sizes: WorldSizes = WorldSizes()
) -> list[Path]:
    """Write each ability's English corpus in other languages: `paths` is ability -> language
    -> output file. The English corpora `generate_world` writes do not change."""
    written = []
    for ability, by_lang in paths.items():
        if ability not in ABILITIES:
            raise ValueError(f"demo-world abilities come from {ABILITIES}; got {ability!r}")
        for lang, path in by_lang.items():
            if lang not in LANGUAGES or lang == "en":
                raise ValueError(
                    f"{ability}: translations go into {LANGUAGES[1:]} (not English); got {lang!r}"
                )
            write_text(Path(path), _jsonl(ability_corpus(ability, sizes.ability_docs, seed, lang)))
            written.append(Path(path))
    return written
