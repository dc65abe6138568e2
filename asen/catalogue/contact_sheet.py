"""A contact sheet of a catalogue search: the query, then the results best first, each with its
similarity (fused, global, local) and the attribute's attention box drawn on it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image


@dataclass(frozen=True)
class SheetCell:
    image: Image.Image | None  # None: the image file was not found (an empty cell)
    roi: tuple[float, float, float, float] | None
    title: str
    highlight: bool = False  # the query
    match: bool = False  # a result that shares the query's shown label value (green title)


def save_contact_sheet(
    cells: Sequence[SheetCell], heading: str, out: Path, columns: int = 6
) -> Path:
    rows = math.ceil(len(cells) / columns)
    lines = max((cell.title.count("\n") + 1 for cell in cells), default=1)
    height = (2.2 + 0.15 * lines) * rows + 0.5
    figure = Figure(figsize=(2.2 * columns, height))
    FigureCanvasAgg(figure)
    figure.suptitle(heading, fontsize=10)
    for number, cell in enumerate(cells):
        axes = figure.add_subplot(rows, columns, number + 1)
        axes.set_xticks([])
        axes.set_yticks([])
        if cell.image is not None:
            axes.imshow(cell.image)
            if cell.roi is not None:
                x0, y0, x1, y1 = cell.roi
                axes.add_patch(
                    Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="lime", lw=2)
                )
        else:
            axes.text(0.5, 0.5, "image not found", ha="center", va="center", fontsize=8)
        colour = "tab:blue" if cell.highlight else "tab:green" if cell.match else "black"
        axes.set_title(cell.title, fontsize=7, color=colour)
        for spine in axes.spines.values():
            spine.set_edgecolor("tab:blue" if cell.highlight else "0.7")
            spine.set_linewidth(3 if cell.highlight else 1)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))  # the heading keeps its own band
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    return out
