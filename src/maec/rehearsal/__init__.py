"""The paper's configuration rehearsed on a CPU: its inputs in the hub's own formats.

`write_rehearsal(out_dir)` (or `python -m maec.rehearsal out_dir`) writes

    out_dir/inputs/models/llama-3-tiny/        LLaMA-3 style backbone, hub layout (shards, index,
                                               config, generation config, byte-level BPE)
    out_dir/inputs/models/qwen2.5-tiny/        the same with tied input/output embeddings
    out_dir/inputs/models/nllb-tiny/           a translation model in NLLB-200's layout
    out_dir/inputs/datasets/{hub id}/          corpora and benchmarks in their hub layouts
                                               (maec.rehearsal.corpora, .benchmarks)
    out_dir/config.yaml                        config/config.yaml + config/rehearsal.yaml
    out_dir/config-tied.yaml                   the same + config/rehearsal-tied.yaml (the
                                               tied backbone in the setting of Table 7)

from the real text of a data folder (FLORES-200, GSM8K, MGSM, Okapi m_MMLU copies;
`../shared/data` in this project). The workflow then runs the paper's branch of the DAG
(hub downloads, tokenization through `datasets`, multi-process training) on them:

    snakemake --cores 2 --directory out_dir --configfile out_dir/config.yaml \
        --replace-workflow-config experiments
"""

from __future__ import annotations

from pathlib import Path

import yaml

from maec.io.atomic import atomic_directory, write_text
from maec.rehearsal.backbones import write_hub_backbone
from maec.rehearsal.benchmarks import MGSM, OKAPI_MMLU, write_mgsm, write_okapi_mmlu
from maec.rehearsal.config import REHEARSAL_KEYS, TABLE7_KEYS, rehearsal_config
from maec.rehearsal.corpora import (
    ARXIV,
    CULTURAX,
    OPEN_WEB_MATH,
    documents,
    flores_sentences,
    write_arxiv,
    write_culturax,
    write_open_web_math,
)
from maec.rehearsal.tokenizer import LLAMA3, QWEN2, train_byte_level_bpe
from maec.rehearsal.translator import write_hub_translator

__all__ = ["write_rehearsal", "rehearsal_config", "BACKBONES", "DATA_FOLDERS"]

# Backbone directory -> (architecture, special tokens of its family).
BACKBONES = {"llama-3-tiny": ("llama", LLAMA3), "qwen2.5-tiny": ("qwen2", QWEN2)}
TRANSLATOR = "nllb-tiny"  # NLLB-200's layout, for the translation rule
DATA_FOLDERS = ("flores_sib200", "gsm8k", "mgsm", "okapi_m_mmlu")
VOCAB_SIZE = 4096
# config/ holds the paper's configuration and the overlays; each overlay updates the last,
# setting only the keys it is allowed.
CONFIGS = {
    "config.yaml": [("rehearsal.yaml", REHEARSAL_KEYS)],
    "config-tied.yaml": [
        ("rehearsal.yaml", REHEARSAL_KEYS),
        ("rehearsal-tied.yaml", REHEARSAL_KEYS + TABLE7_KEYS),
    ],
}


def _check_data(data_dir: Path) -> None:
    missing = [name for name in DATA_FOLDERS if not (data_dir / name).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"rehearsal data {data_dir}: no {', '.join(missing)} (FLORES-200, GSM8K, MGSM and "
            "Okapi m_MMLU copies; see ../shared/data/README.md)"
        )


def write_rehearsal(out_dir, data_dir="../shared/data", config_dir="config", seed: int = 0) -> dict:
    """Write the rehearsal's inputs and configurations under `out_dir` (the inputs whole or
    not at all); returns {config file name: path}."""
    out_dir, data_dir, config_dir = Path(out_dir), Path(data_dir), Path(config_dir)
    _check_data(data_dir)
    paper = yaml.safe_load((config_dir / "config.yaml").read_text())
    configs = {}
    for name, overlays in CONFIGS.items():
        loaded = [
            (str(config_dir / o), yaml.safe_load((config_dir / o).read_text()), keys)
            for o, keys in overlays
        ]
        configs[name] = rehearsal_config(paper, loaded, out_dir / "inputs", config_dir.parent)
    languages = [paper["reference_language"], *paper["languages"]]
    with atomic_directory(out_dir / "inputs") as tmp:
        # The tokenizers learn from the general corpora, as LLaMA-3's and Qwen2.5's did.
        texts = [
            d["text"]
            for lang in languages
            for d in documents(flores_sentences(data_dir, lang), lang)
        ]
        for name, (architecture, special) in BACKBONES.items():
            tokenizer = train_byte_level_bpe(texts, VOCAB_SIZE, special)
            write_hub_backbone(tmp / "models" / name, architecture, tokenizer, seed=seed)
        write_hub_translator(tmp / "models" / TRANSLATOR, texts, seed=seed)
        datasets = tmp / "datasets"
        write_culturax(datasets / CULTURAX, data_dir, languages)
        write_open_web_math(datasets / OPEN_WEB_MATH, data_dir)
        write_arxiv(datasets / ARXIV, data_dir)
        write_mgsm(datasets / MGSM, data_dir, paper["evaluation"]["mgsm"]["languages"])
        write_okapi_mmlu(datasets / OKAPI_MMLU, data_dir, paper["evaluation"]["mmlu"]["languages"])
    paths = {}
    for name, config in configs.items():
        paths[name] = out_dir / name
        write_text(paths[name], yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return paths
