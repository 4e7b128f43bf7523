"""mergekit in this process, for the cross-checks (its command line costs a new interpreter
per merge)."""

import importlib.util

import pytest
import yaml

from helpers.checkpoints import load_checkpoint

needs_mergekit = pytest.mark.skipif(
    importlib.util.find_spec("mergekit") is None, reason="mergekit is not installed"
)


def mergekit_merge(tmp_path, method, base, models, parameters, shared=""):
    """mergekit's `method` of `models` on `base` (each with `parameters`), in float32."""
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    entries = "".join(f"  - model: {m}\n    parameters: {parameters}\n" for m in models)
    text = f"merge_method: {method}\nbase_model: {base}\nmodels:\n{entries}{shared}dtype: float32\n"
    out = tmp_path / f"mk-{method}-{len(list(tmp_path.iterdir()))}"
    config = MergeConfiguration.model_validate(yaml.safe_load(text))
    run_merge(config, str(out), MergeOptions(copy_tokenizer=False, quiet=True))
    return load_checkpoint(out)
