"""config/README.md, written from the config schema: every key with its type, default and
description, so that the schema stays the one place a key is described.

    python -m maec.workflow.config_docs            # rewrite config/README.md
    python -m maec.workflow.config_docs --check    # exit 1 if it differs from the schema

`tests/unit/workflow/test_config_docs.py` keeps the two in sync.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
README = REPO / "config" / "README.md"

PREAMBLE = """\
# Configuration

One YAML file drives the whole workflow (`snakemake --configfile FILE`, default
`config/config.yaml`). Shipped files:

| file | what it configures |
|---|---|
| `config.yaml` | the paper's setup: LLaMA-3 8B, es, zh, bn, te, math and science (Tables 2–8) |
| `demo.yaml` | the offline demo world: generated corpora and benchmarks, a tiny backbone |
| `table7-gemma-2-2b.yaml`, `table7-qwen2.5-0.5b.yaml` | Table 7's smaller backbones |
| `rehearsal.yaml`, `rehearsal-tied.yaml` | overlays of `config.yaml`: the paper's branch on a CPU |
| `deepspeed/` | DeepSpeed JSON files for `training.deepspeed_config` |

Every key is checked against `workflow/schemas/config.schema.yaml` before any job is
planned: an unknown key is an error, a key left out takes the default below. What a schema
cannot say (every language has a corpus, numbers are finite, budgets make a batch, the
key-neuron patterns select a tensor of the backbone, ...) is checked next
(`maec.workflow.config_checks`, `maec.workflow.backbone_fit`), each error naming its key.

This file is written from the schema (`python -m maec.workflow.config_docs`); edit the
schema's descriptions, not this file.
"""


def _resolve(node: dict, schema: dict) -> dict:
    """A schema node with its `$ref` (to `definitions`) merged in; the node's own keys win."""
    ref = node.get("$ref")
    if not ref:
        return node
    target = schema["definitions"][ref.rsplit("/", 1)[-1]]
    return {**_resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict, schema: dict) -> str:
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(value) for value in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(_resolve(n, schema), schema) for n in node["oneOf"])
    kinds = node.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    text = " or ".join(kinds)
    if "array" in kinds and "items" in node:
        text += f" of {_type(_resolve(node['items'], schema), schema)}"
    bounds = [
        f"{symbol} {node[key]}"
        for key, symbol in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
        )
        if key in node
    ]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def config_keys(node: dict, schema: dict, path: str = "") -> Iterator[tuple[str, dict, bool]]:
    """(dotted key, resolved schema node, required) of every key, parents before their
    children; a map of free names (`abilities.{name}`) is shown with its name in braces."""
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        child = _resolve(child, schema)
        key = f"{path}.{name}" if path else name
        yield key, child, name in required
        yield from config_keys(child, schema, key)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        extra = _resolve(extra, schema)
        if extra.get("properties"):
            yield from config_keys(extra, schema, f"{path}.{{name}}")


def render(schema: dict) -> str:
    """config/README.md: the preamble, then one table per top-level key."""
    lines = [PREAMBLE]
    required_top = set(schema.get("required", []))
    for top, node in schema["properties"].items():
        node = _resolve(node, schema)
        lines += ["", f"## `{top}`" + (" (required)" if top in required_top else ""), ""]
        if node.get("description"):
            lines += [_cell(node["description"]), ""]
        rows = list(config_keys(node, schema, top))
        if not rows:
            lines.append(f"Type: {_cell(_type(node, schema))}.")
            if "default" in node:
                lines.append(f"Default: `{json.dumps(node['default'])}`.")
            continue
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        for key, child, required in rows:
            default = f"`{json.dumps(child['default'])}`" if "default" in child else ""
            default = default or ("required" if required else "")
            lines.append(
                f"| `{key}` | {_cell(_type(child, schema))} | {_cell(default)} | "
                f"{_cell(child.get('description', ''))} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    text = render(yaml.safe_load(SCHEMA.read_text(encoding="utf-8")))
    if args.check:
        current = README.read_text(encoding="utf-8") if README.exists() else ""
        if current != text:
            print(f"{README} differs from {SCHEMA}: run python -m maec.workflow.config_docs")
            return 1
        return 0
    README.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
