"""config/README.md is the schema written out: a schema edit without
`python -m maec.workflow.config_docs` is caught here, and so is a key without a description."""

import yaml
from helpers.configs import SCHEMA

from maec.workflow import config_docs


def test_the_readme_is_the_schema_written_out():
    assert config_docs.main(["--check"]) == 0, "run: python -m maec.workflow.config_docs"


def test_every_key_is_described():
    schema = yaml.safe_load(open(SCHEMA))
    tops = [config_docs._resolve(node, schema) for node in schema["properties"].values()]
    assert all(node.get("description") for node in tops)
    undescribed = [
        key
        for key, node, _ in config_docs.config_keys(schema, schema)
        if not node.get("description")
    ]
    assert undescribed == []
