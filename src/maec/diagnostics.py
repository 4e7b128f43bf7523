"""Where R(A) and R_Lang live in the model, and how alike they are, per tensor group.

Read from the similarity table (one row per tensor, written by `maec.similarity`), so no
checkpoint is read again. A group's cosine is the cosine of the concatenated tensors of the
group, Σ dot / sqrt(Σ|R(A)|² Σ|R_Lang|²), not an average of per-tensor cosines.
"""

import math

import pandas as pd

from maec.io.atomic import write_text

FAMILIES = {
    "embeddings": "embeddings",
    "lm_head": "lm_head",
    "norm": "norms",
    "other": "other",
}


def tensor_family(group: str) -> str:
    """The coarse family of a tensor group: embeddings, attention, mlp, norms, lm_head."""
    if group.startswith("attention"):
        return "attention"
    if group.startswith("mlp"):
        return "mlp"
    return FAMILIES.get(group, "other")


def read_similarity_table(path) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t")
    needed = {"tensor", "group", "numel", "selected", "abs_sum_ra", "abs_sum_rlang"}
    needed |= {"dot", "sq_norm_ra", "sq_norm_rlang"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"{path}: not a similarity table (missing {sorted(missing)})")
    table["family"] = table["group"].map(tensor_family)
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


def group_diagnostics(table: pd.DataFrame) -> pd.DataFrame:
    """One row per family (embeddings, attention, mlp, norms, lm_head) then per fine group."""
    families = _summarise(table, "family").rename(columns={"family": "group"})
    families.insert(0, "level", "family")
    groups = _summarise(table, "group")
    groups.insert(0, "level", "tensor type")
    return pd.concat([families, groups], ignore_index=True)


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


def write_group_diagnostics(similarity_tsv, out_csv, out_md) -> pd.DataFrame:
    frame = group_diagnostics(read_similarity_table(similarity_tsv))
    write_text(out_csv, frame.to_csv(index=False, float_format="%.6g"))
    write_text(out_md, frame.to_markdown(index=False, floatfmt=".3f") + "\n")
    return frame


def write_layer_cosines(similarity_tsv, out_csv) -> pd.DataFrame:
    """The per-layer cosines (Figure 5b's data) as CSV; returns them for the figure."""
    layers = layer_cosines(read_similarity_table(similarity_tsv))
    write_text(out_csv, layers.to_csv(index=False, float_format="%.6g"))
    return layers
