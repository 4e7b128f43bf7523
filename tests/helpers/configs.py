"""The shipped configs as the workflow sees them: loaded and filled in by the schema."""

import copy

import yaml
from snakemake.utils import validate

from helpers import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def shipped_config(name: str) -> dict:
    """config/{name}, validated: every default of the schema filled in."""
    config = yaml.safe_load((REPO / "config" / name).read_text())
    validate(config, SCHEMA)
    return config


def with_translations(config: dict, languages=("es", "bn", "te")) -> dict:
    """A copy with (hub ids of) translated ability corpora, so that every Table 2 row is
    built."""
    config = copy.deepcopy(config)
    for ability, spec in config["abilities"].items():
        spec["translated_corpora"] = {
            lang: {"source": f"mt-output/{ability}-{lang}"} for lang in languages
        }
    validate(config, SCHEMA)
    return config


def overlaid(config: dict, overlay: str) -> dict:
    """`config` with config/{overlay} laid over it, as Snakemake merges a second
    `--configfile` (mappings key by key, anything else replaced)."""

    def merge(base: dict, over: dict) -> dict:
        merged = dict(base)
        for key, value in over.items():
            both = isinstance(value, dict) and isinstance(base.get(key), dict)
            merged[key] = merge(base[key], value) if both else copy.deepcopy(value)
        return merged

    return merge(config, yaml.safe_load((REPO / "config" / overlay).read_text()))
