"""How much of the model, or of T, tensor types make up (Table 8 and the merge-by-type table).

Both read the similarity table (`maec.report.diagnostics.read_similarity_table`), whose `type`
column is each tensor's type and `selected` marks the tensors of T; a group is a name of
`experiments.tensor_types` with its tensor types (`mlp`: mlp_gate, mlp_up, mlp_down).
"""

from collections.abc import Mapping, Sequence

import pandas as pd


def share_of_t(similarity: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Percent of the tensors of T that are of each group's types: the paper's Table 8
    "Proportion of T" (counted in tensors, e.g. 28 of LLaMA-3 8B's 232 are attention_q)."""
    in_t = similarity[similarity["selected"] == 1]
    if in_t.empty:
        raise ValueError("T is empty (k2 = 0): no share of T to report")
    return {
        name: 100 * in_t["type"].isin(types).sum() / len(in_t) for name, types in groups.items()
    }


def share_of_model(similarity: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Percent of the model's tensors and of its entries that are of each group's types."""
    rows = {}
    for name, types in groups.items():
        covered = similarity["type"].isin(types)
        rows[name] = {
            "share of tensors (%)": 100 * covered.mean(),
            "share of entries (%)": 100
            * similarity.loc[covered, "numel"].sum()
            / similarity["numel"].sum(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
