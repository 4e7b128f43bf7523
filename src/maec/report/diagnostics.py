"""Where R(A) and R_Lang live in the model, and how alike they are, per family and tensor type.

Tensor types are the fine kinds of `maec.tensors` (attention_q, mlp_up, ...), a family the
coarse kind (embeddings, attention, mlp, norms, lm_head). Read from the similarity
table (one row per tensor, written by `maec.combination.similarity`), so no checkpoint is
read again. The cosine of a family or type is the cosine of its concatenated tensors,
Σ dot / sqrt(Σ|R(A)|² Σ|R_Lang|²), not an average of per-tensor cosines.

With the merge's rounding report (`maec.combination.rounding`), each row also says how much
of γR(A) survives the rounding of the merged model: the entries with R(A) ≠ 0 in T, the
share of them rounded away, and the share of ‖γR(A)‖₁ that survives.
"""

import math

import pandas as pd

from maec.combination.rounding import read_rounding_report
from maec.io.atomic import write_text
from maec.tensors import tensor_family

ALL_TYPES = "all"  # the `type` of a family's own row in the diagnostics table


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


def add_rounding(table: pd.DataFrame, report: dict) -> pd.DataFrame:
    """The similarity table with each tensor's rounding tally (zero outside T)."""
    tallies = pd.DataFrame.from_dict(report["tensors"], orient="index")
    columns = ["entries", "rounded_away", "update_l1", "surviving_l1"]
    tallies = tallies.reindex(columns=columns).add_prefix("rounding_")
    table = table.join(tallies, on="tensor")
    table[tallies.columns] = table[tallies.columns].fillna(0)
    return table


def _rounding_columns(part: pd.DataFrame) -> dict:
    entries = part["rounding_entries"].sum()
    update = part["rounding_update_l1"].sum()
    return {
        "R_A_entries_in_T": int(entries),
        "share_rounded_away": part["rounding_rounded_away"].sum() / entries if entries else None,
        "share_of_gamma_R_A_surviving": part["rounding_surviving_l1"].sum() / update
        if update
        else None,
    }


def _summarise(table: pd.DataFrame, by: str) -> pd.DataFrame:
    totals = table[["numel", "abs_sum_ra", "abs_sum_rlang"]].sum()
    rows = []
    for key, part in table.groupby(by, sort=True):
        rounding = _rounding_columns(part) if "rounding_entries" in part else {}
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
                **rounding,
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
    """Cosine between R(A) and R_Lang per layer and family, layers in order."""
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


def rounding_summary(report: dict) -> str:
    """One sentence on what the rounding of the merged model does to γR(A) overall."""
    return (
        f"Merged model written in {report['dtype']}: of the {report['entries']:,} entries "
        f"with R(A) ≠ 0 in T, {report['rounded_away']:,} "
        f"({100 * report['rounded_away_share']:.2f} %) are rounded away (written as the merge "
        f"without R(A) writes them); {100 * report['surviving_share']:.2f} % of ‖γR(A)‖₁ "
        "in T survives the rounding (docs/design.md, Diagnostics)."
    )


def write_diagnostics(similarity_tsv, out_csv, out_md, rounding_report=None) -> pd.DataFrame:
    """The diagnostics table (`diagnostics_table`) as CSV and Markdown; with the merge's
    `rounding_report`, its rounding columns and a sentence on the whole model above the
    Markdown table."""
    table = read_similarity_table(similarity_tsv)
    intro = ""
    if rounding_report is not None:
        report = read_rounding_report(rounding_report)
        table = add_rounding(table, report)
        intro = rounding_summary(report) + "\n\n"
    frame = diagnostics_table(table)
    write_text(out_csv, frame.to_csv(index=False, float_format="%.6g"))
    write_text(out_md, intro + frame.to_markdown(index=False, floatfmt=".3f") + "\n")
    return frame


def layer_cosines_over_seeds(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-layer cosines of several training seeds' similarity tables: `cosine` the mean
    over seeds, and with several seeds their spread, `seeds`, `sd` (n − 1 in the
    denominator), `min` and `max`. A cosine is computed from every entry of its tensors,
    so it has no sampling error of its own; what varies is the training that made R(A)
    and R_Lang, which the seeds repeat. One table gives `layer_cosines` as it is."""
    if len(tables) == 1:
        return layer_cosines(tables[0])
    per_seed = pd.concat([layer_cosines(table) for table in tables], ignore_index=True)
    grouped = per_seed.groupby(["layer", "family"], sort=True)["cosine"]
    spread = grouped.agg(cosine="mean", seeds="count", sd="std", min="min", max="max")
    return spread.reset_index()


def write_layer_cosines(similarity_tsvs, out_csv) -> pd.DataFrame:
    """The per-layer cosines of R(A) and R_Lang of one similarity table per training seed,
    as CSV (`layer_cosines_over_seeds`); returns them for the figure."""
    tables = [read_similarity_table(tsv) for tsv in similarity_tsvs]
    layers = layer_cosines_over_seeds(tables)
    write_text(out_csv, layers.to_csv(index=False, float_format="%.6g"))
    return layers
