"""Draw an attribute's attention map over the original image, with the RoI the local branch saw.

The attention map covers the centre-cropped global frame, so it is upsampled to that frame and
placed over the crop's region of the original image (the same mapping as the RoI box); the rest
of the image is shown without overlay. Drawing uses matplotlib's Agg canvas directly: no GUI,
no global backend switch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from asen_contract.roi import SquareBox, box_in_source

DISPLAY_FRAME = 224  # resolution of the upsampled map; only affects smoothness


def attention_in_source(
    attention: np.ndarray, image_size: tuple[int, int], frame: int = DISPLAY_FRAME
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(map upsampled to frame x frame and min-max scaled to [0, 1], its region (x0, y0, x1, y1)
    in original-image pixels: the global branch's centre crop)."""
    values = np.asarray(attention, dtype=np.float32)
    upsampled = np.asarray(
        Image.fromarray(values, mode="F").resize((frame, frame), Image.BILINEAR), np.float32
    )
    low, high = float(upsampled.min()), float(upsampled.max())
    scaled = (upsampled - low) / (high - low) if high > low else np.ones_like(upsampled)
    return scaled, box_in_source(SquareBox(0, 0, frame), image_size, frame)


def draw_attention(
    axes: Axes,
    image: Image.Image,
    attention: np.ndarray,
    roi: Sequence[float] | None,
    title: str,
    region: Sequence[Sequence[float]] = (),
) -> None:
    """Heatmap over the image, the RoI box (white) and, when given, the attribute's ground-truth
    region boxes (dashed green)."""
    heat, (x0, y0, x1, y1) = attention_in_source(attention, image.size)
    axes.imshow(image)
    axes.imshow(heat, cmap="jet", alpha=0.45, extent=(x0, x1, y1, y0), interpolation="bilinear")
    axes.set_xlim(0, image.size[0])
    axes.set_ylim(image.size[1], 0)
    if roi is not None:
        rx0, ry0, rx1, ry1 = (float(v) for v in roi)
        axes.add_patch(
            Rectangle((rx0, ry0), rx1 - rx0, ry1 - ry0, fill=False, edgecolor="white", linewidth=2)
        )
    for bx0, by0, bx1, by1 in region:
        axes.add_patch(
            Rectangle(
                (bx0, by0), bx1 - bx0, by1 - by0, fill=False, edgecolor="lime", linewidth=1.5,
                linestyle="--",
            )
        )  # fmt: skip
    axes.set_title(title)
    axes.axis("off")


def save_attention_figure(
    image: Image.Image,
    attention: np.ndarray,
    roi: Sequence[float] | None,
    title: str,
    path: Path,
) -> Path:
    """One image, one attribute: heatmap + RoI box, saved as PNG (or any matplotlib format)."""
    return save_attention_grid(image, [attention], [roi], [title], path, columns=1)


def save_attention_grid(
    image: Image.Image,
    attentions: Sequence[np.ndarray],
    rois: Sequence[Sequence[float] | None],
    titles: Sequence[str],
    path: Path,
    columns: int = 4,
    regions: Sequence[Sequence[Sequence[float]]] | None = None,
) -> Path:
    """Several attributes of one image side by side, one panel each (`regions`: per panel, the
    attribute's ground-truth boxes, drawn dashed)."""
    if not (len(attentions) == len(rois) == len(titles)) or not attentions:
        raise ValueError("one attention map, RoI and title per panel, and at least one panel")
    regions = regions if regions is not None else [()] * len(attentions)
    columns = max(1, min(columns, len(attentions)))
    rows = math.ceil(len(attentions) / columns)
    aspect = image.size[1] / image.size[0]
    figure = Figure(figsize=(4 * columns, 4 * aspect * rows + 0.5 * rows))
    FigureCanvasAgg(figure)
    panels = zip(attentions, rois, titles, regions, strict=True)
    for index, (attention, roi, title, region) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        draw_attention(axes, image, attention, roi, title, region)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
