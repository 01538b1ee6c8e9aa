"""Figures a person would rather look at than read; logged to MLflow by the flows."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.figure import Figure


def heatmap(
    table: pl.DataFrame, row: str, column: str, value: str, title: str, vmin: float = 0.0
) -> Figure:
    """A row x column heatmap of `value` on [vmin, 1], each cell annotated."""
    wide = table.pivot(on=column, index=row, values=value, aggregate_function="mean").sort(row)
    columns = [c for c in wide.columns if c != row]
    values = wide.select(columns).to_numpy()
    figure, axes = plt.subplots(figsize=(1.0 + 0.9 * len(columns), 1.0 + 0.4 * len(wide)))
    image = axes.imshow(values, cmap="viridis", vmin=vmin, vmax=1, aspect="auto")
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(wide)), wide[row].to_list())
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            axes.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.03)
    figure.tight_layout()
    return figure
