"""Every config in config/ names only corpus sources that load: those of the paper's
configuration (each read through `datasets` in the rehearsal, in its hub layout), or files
a rule of the workflow writes. A source outside both would plan, and fail at its first
tokenize job."""

import pytest
from helpers import REPO
from helpers.configs import shipped_config

from maec.workflow import corpora

PAPER = shipped_config("config.yaml")
# The demo world's corpora are files its generator writes (results/world/, `world.smk`).
WRITTEN_BY_A_RULE = "results/world/"
CONFIGS = sorted(
    p.name for p in (REPO / "config").glob("*.yaml") if not p.name.startswith("rehearsal")
)


def sources(config) -> dict[str, tuple]:
    """config key -> (source, configuration name, data files) of every corpus."""
    found = {}
    for corpus in corpora.all_corpora(config):
        entry = corpora.corpus_config(config, corpus)
        key = corpora.corpus_key(config, corpus)
        found[key] = (entry["source"], entry["name"], str(entry["data_files"]))
    return found


def test_the_shipped_configs_are_the_ones_checked():
    assert {
        "config.yaml",
        "demo.yaml",
        "table7-qwen2.5-0.5b.yaml",
        "table7-gemma-2-2b.yaml",
    } <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_corpus_source_is_the_papers_or_written_by_a_rule(name):
    loadable = set(sources(PAPER).values())
    for key, source in sources(shipped_config(name)).items():
        assert source in loadable or source[0].startswith(WRITTEN_BY_A_RULE), (
            f"config/{name}: {key} names {source}, which config/config.yaml does not"
        )
