"""Merge methods beside Eq. 5's plain sum, one module each ([beyond](docs/beyond.md)):

- `task_arithmetic`: Θ_o + λ Σ_i (Θ_i − Θ_o), the F-TV / L-TV baselines;
- `ties`: TIES-Merging (trim, elect sign, disjoint mean) of weighted task vectors;
- `dare`: DARE (drop with rate p, rescale by 1/(1 − p)) of weighted task vectors;
- `layer_swap`: Layer Swapping, one expert's bottom and top layers around another's.

`MERGE_METHODS` registers those that combine weighted task vectors (`maec.combination.terms`),
by the name the workflow gives them (the merge variant `combine-ties`, the `{merge_method}`
wildcard). A method's module loads on first use, so that the workflow reads the names
while it plans without importing torch.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class MergeMethod:
    """A combination of task vectors: `module.function(backbone, terms, out_path, *, dtype,
    **settings)` writes the merged model. `weighs_terms`: whether F-TV's λ enters as the
    terms' weight (DARE sums the vectors it keeps); otherwise the method scales the combined
    vector itself (TIES's λ scales the disjoint mean) and the terms enter with weight 1."""

    description: str
    module: str
    function: str
    weighs_terms: bool

    @property
    def write(self) -> Callable[..., None]:
        return getattr(importlib.import_module(self.module), self.function)


MERGE_METHODS: dict[str, MergeMethod] = {
    "ties": MergeMethod(
        "TIES-Merging: trim to the top density, elect a sign, disjoint mean, scaled by λ",
        "maec.merge_methods.ties",
        "write_ties_merge",
        weighs_terms=False,
    ),
    "dare": MergeMethod(
        "DARE: drop entries with rate p, rescale the rest by 1/(1 − p), sum",
        "maec.merge_methods.dare",
        "write_dare_merge",
        weighs_terms=True,
    ),
}


def merge_method(name: str) -> MergeMethod:
    """The registered method of this name; a ValueError names the ones there are."""
    if name not in MERGE_METHODS:
        raise ValueError(f"unknown merge method {name!r}; there are {', '.join(MERGE_METHODS)}")
    return MERGE_METHODS[name]
