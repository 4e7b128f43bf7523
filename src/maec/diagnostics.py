"""Where R(A) and R_Lang live in the model, and how alike they are, per family and tensor type.

Tensor types are the fine kinds of `maec.similarity.tensor_type` (attention_q, mlp_up, ...);
a family is a coarse kind (embeddings, attention, mlp, norms, lm_head, other). Read from the
similarity table (one row per tensor, written by `maec.similarity`), so no checkpoint is
read again. The cosine of a family or type is the cosine of its concatenated tensors,
Σ dot / sqrt(Σ|R(A)|² Σ|R_Lang|²), not an average of per-tensor cosines.
"""

import math

import pandas as pd

from maec.io.atomic import write_text

_FAMILIES = {  # tensor types outside attention and mlp that are a family of their own
    "embeddings": "embeddings",
    "lm_head": "lm_head",
    "norm": "norms",
    "other": "other",
}
ALL_TYPES = "all"  # the `type` of a family's own row in the diagnostics table


def tensor_family(tensor_type: str) -> str:
    """The family of a tensor type: embeddings, attention, mlp, norms, lm_head or other."""
    if tensor_type.startswith("attention"):
        return "attention"
    if tensor_type.startswith("mlp"):
        return "mlp"
    return _FAMILIES.get(tensor_type, "other")


def read_similarity_table(path) -> pd.DataFrame:
    """The similarity table with each tensor's `family` added."""
    table = pd.read_csv(path, sep="\t")
    needed = {"tensor", "type", "numel", "selected", "abs_sum_ra", "abs_sum_rlang"}
    needed |= {"dot", "sq_norm_ra", "sq_norm_rlang"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"{path}: not a similarity table (missing {sorted(missing)})")
    table["family"] = table["type"].map(tensor_family)
    return table


def _cosine(dot: float, sq_a: float, sq_b: float) -> float:
    if sq_a == 0 or sq_b == 0:
        return 0.0
    return dot / math.sqrt(sq_a * sq_b)


def _summarise(table: pd.DataFrame, by: str) -> pd.DataFrame:
    totals = table[["numel", "abs_sum_ra", "abs_sum_rlang"]].sum()
    rows = []
    for key, part in table.groupby(by, sort=True):
        rows.append(
            {
                by: key,
                "tensors": len(part),
                "tensors_in_T": int(part["selected"].sum()),
                "share_of_entries": part["numel"].sum() / totals["numel"],
                "share_of_abs_R_A": _share(part["abs_sum_ra"].sum(), totals["abs_sum_ra"]),
                "share_of_abs_R_Lang": _share(part["abs_sum_rlang"].sum(), totals["abs_sum_rlang"]),
                "cosine": _cosine(
                    part["dot"].sum(), part["sq_norm_ra"].sum(), part["sq_norm_rlang"].sum()
                ),
            }
        )
    return pd.DataFrame(rows)


def _share(part: float, total: float) -> float:
    return part / total if total else 0.0


def diagnostics_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per family (`type` "all"), then one per tensor type, with its family."""
    families = _summarise(table, "family")
    families.insert(1, "type", ALL_TYPES)
    types = _summarise(table, "type")
    types.insert(0, "family", types["type"].map(tensor_family))
    return pd.concat([families, types], ignore_index=True)


def layer_cosines(table: pd.DataFrame) -> pd.DataFrame:
    """Cosine between R(A) and R_Lang per layer and family (Figure 5b), layers in order."""
    layered = table[table["layer"].notna() & (table["layer"].astype(str) != "")].copy()
    layered["layer"] = layered["layer"].astype(int)
    rows = []
    for (layer, family), part in layered.groupby(["layer", "family"], sort=True):
        rows.append(
            {
                "layer": layer,
                "family": family,
                "cosine": _cosine(
                    part["dot"].sum(), part["sq_norm_ra"].sum(), part["sq_norm_rlang"].sum()
                ),
            }
        )
    return pd.DataFrame(rows, columns=["layer", "family", "cosine"])


def write_diagnostics(similarity_tsv, out_csv, out_md) -> pd.DataFrame:
    """The diagnostics table (`diagnostics_table`) as CSV and Markdown."""
    frame = diagnostics_table(read_similarity_table(similarity_tsv))
    write_text(out_csv, frame.to_csv(index=False, float_format="%.6g"))
    write_text(out_md, frame.to_markdown(index=False, floatfmt=".3f") + "\n")
    return frame


def write_layer_cosines(similarity_tsv, out_csv) -> pd.DataFrame:
    """The per-layer cosines (Figure 5b's data) as CSV; returns them for the figure."""
    layers = layer_cosines(read_similarity_table(similarity_tsv))
    write_text(out_csv, layers.to_csv(index=False, float_format="%.6g"))
    return layers
