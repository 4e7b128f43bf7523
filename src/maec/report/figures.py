"""The paper's figures from our tables: accuracy per language of the results table's models
with their intervals, ablations (Figure 3), accuracy against k2 (Figure 4),
masked against full training and how alike models trained on different corpora are
(Figure 5 a, b, c), and, beyond the paper, the per-layer cosine between R(A) and R_Lang.
Each is saved as PNG and PDF."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from maec.io.atomic import atomic_path  # noqa: E402
from maec.report.tables import TOKENS_COLUMN, is_average_column  # noqa: E402


def _save(fig, out_png, out_pdf) -> None:
    for out in (out_png, out_pdf):
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix[1:], bbox_inches="tight", dpi=150)
    plt.close(fig)


def domain_columns(frame: pd.DataFrame, domain: str) -> list[str]:
    """The per-language columns of one domain ("Math", "Science") then its average."""
    columns = [
        c
        for c in frame.columns
        if c.startswith(f"{domain} ") and c != f"{domain} ICER" and not c.endswith(TOKENS_COLUMN)
    ]
    return sorted(columns, key=lambda c: is_average_column(c, domain))


def average_bounds(
    frame: pd.DataFrame, domain: str, intervals: pd.DataFrame | None
) -> tuple[list[float], list[float]] | None:
    """The interval bounds of each row's average (long `intervals`: model, column, low,
    high, as `maec.report.tables.interval_frame` gives them), in row order; None without any."""
    if intervals is None:
        return None
    column = next(c for c in domain_columns(frame, domain) if is_average_column(c, domain))
    bounds = intervals[intervals["column"] == column].set_index("model")
    missing = [model for model in frame.index if model not in bounds.index]
    if missing:
        raise ValueError(f"no interval of {column} for rows {missing}")
    return bounds.loc[frame.index, "low"].tolist(), bounds.loc[frame.index, "high"].tolist()


def plot_grouped_bars(
    frame: pd.DataFrame,
    domain: str,
    title: str,
    out_png,
    out_pdf,
    intervals: pd.DataFrame | None = None,
) -> None:
    """One group of bars per language (and the average), one bar per model (row); the
    averages with error bars of their intervals (`average_bounds`)."""
    columns = domain_columns(frame, domain)
    bounds = average_bounds(frame, domain, intervals)
    fig, ax = plt.subplots(figsize=(1.4 * len(columns) + 2, 3.6))
    width = 0.8 / len(frame)
    for i, (model, row) in enumerate(frame.iterrows()):
        positions = [x + (i - (len(frame) - 1) / 2) * width for x in range(len(columns))]
        ax.bar(positions, [row[c] for c in columns], width, label=str(model))
        if bounds is not None:
            average = row[columns[-1]]
            ax.errorbar(
                positions[-1],
                average,
                yerr=[[average - bounds[0][i]], [bounds[1][i] - average]],
                color="black",
                capsize=2,
                linewidth=0.8,
            )
    ax.set_xticks(range(len(columns)), [c.removeprefix(f"{domain} ") for c in columns])
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, out_png, out_pdf)


def plot_language_intervals(intervals: pd.DataFrame, title: str, out_png, out_pdf) -> None:
    """Accuracy per language (and average) of each model with its interval: long
    `intervals` of one benchmark (model, column, estimate, low, high), columns and models in
    the order they come."""
    columns = list(dict.fromkeys(intervals["column"]))
    models = list(dict.fromkeys(intervals["model"]))
    fig, ax = plt.subplots(figsize=(1.2 * len(columns) + 2, 3.6))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        rows = intervals[intervals["model"] == model].set_index("column").reindex(columns)
        positions = [x + (i - (len(models) - 1) / 2) * width for x in range(len(columns))]
        ax.errorbar(
            positions,
            rows["estimate"],
            yerr=[rows["estimate"] - rows["low"], rows["high"] - rows["estimate"]],
            fmt="o",
            capsize=3,
            label=str(model),
        )
    prefix = f"{columns[0].split(' ', 1)[0]} "
    ax.set_xticks(range(len(columns)), [c.removeprefix(prefix) for c in columns])
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    _save(fig, out_png, out_pdf)


def plot_against_k2(
    frame: pd.DataFrame,
    domain: str,
    title: str,
    out_png,
    out_pdf,
    intervals: pd.DataFrame | None = None,
) -> None:
    """Accuracy per language (thin) and average (thick, with a band of its intervals:
    `average_bounds`, models named by k2) against k2; rows indexed by k2."""
    frame = frame.sort_index()
    bounds = average_bounds(frame, domain, intervals)
    fig, ax = plt.subplots(figsize=(5, 3.6))
    if bounds is not None:
        ax.fill_between(frame.index, *bounds, color="black", alpha=0.15, linewidth=0)
    for column in domain_columns(frame, domain):
        average = is_average_column(column, domain)
        ax.plot(
            frame.index,
            frame[column],
            marker="o",
            linewidth=2.5 if average else 1,
            color="black" if average else None,
            label=column.removeprefix(f"{domain} "),
        )
    ax.set_xlabel("k2 (fraction of tensors that receive R(A))")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    _save(fig, out_png, out_pdf)


def plot_layer_cosines(layers: pd.DataFrame, title: str, out_png, out_pdf) -> None:
    """Cosine between R(A) and R_Lang per layer, one line per tensor family; over several
    training seeds (`min` and `max` columns) the line is the mean and a band spans the
    seeds' minimum to maximum."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for family, part in layers.groupby("family", sort=True):
        (line,) = ax.plot(part["layer"], part["cosine"], marker="o", label=family)
        if "min" in part:
            ax.fill_between(
                part["layer"], part["min"], part["max"], color=line.get_color(), alpha=0.2
            )
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer")
    ax.set_ylabel("cosine(R(A), R_Lang)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    _save(fig, out_png, out_pdf)


def plot_training_losses(losses: pd.DataFrame, out_png, out_pdf) -> None:
    """Figure 5a: the training loss against the step of masked CPT (the key neurons only)
    and of full CPT on the same corpora, one panel per run (`losses`: run, training, step,
    loss)."""
    runs = list(dict.fromkeys(losses["run"]))
    fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.2), squeeze=False)
    for ax, run in zip(axes[0], runs):
        for training, part in losses[losses["run"] == run].groupby("training", sort=False):
            ax.plot(part["step"], part["loss"], label=training)
        ax.set_title(run, fontsize=8)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=7)
    _save(fig, out_png, out_pdf)


def plot_update_layer_cosines(similarity: pd.DataFrame, pairs, out_png, out_pdf) -> None:
    """Figure 5b: the cosine of two models' updates per layer, one line per pair
    (`maec.report.updates.update_similarity`'s rows)."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    layers = similarity[similarity["layer"] != "all"]
    for first, second in pairs:
        part = layers[(layers["first"] == first) & (layers["second"] == second)]
        ax.plot(part["layer"].astype(int), part["cosine"], marker="o", label=f"{first}, {second}")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer")
    ax.set_ylabel("cosine of the updates")
    ax.legend(fontsize=7)
    _save(fig, out_png, out_pdf)


def plot_update_similarity(similarity: pd.DataFrame, out_png, out_pdf) -> None:
    """Figure 5c: the cosine of every two models' updates and the mean L1 distance between
    them, over the whole model, as two matrices."""
    whole = similarity[similarity["layer"] == "all"]
    labels = list(dict.fromkeys([*whole["first"], *whole["second"]]))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, metric in zip(axes, ("cosine", "l1")):
        matrix = pd.DataFrame(index=labels, columns=labels, dtype=float)
        for row in whole.itertuples():
            matrix.loc[row.first, row.second] = matrix.loc[row.second, row.first] = getattr(
                row, metric
            )
        image = ax.imshow(matrix.to_numpy(dtype=float), cmap="viridis")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title("cosine of the updates" if metric == "cosine" else "mean |Θ_a − Θ_b|")
        fig.colorbar(image, ax=ax, shrink=0.8)
    _save(fig, out_png, out_pdf)
