"""A contact sheet of labelled images, so a person can see which region carries which attribute."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from asen.data.metadata import DatasetSpec

CELL_WIDTH = 176
THUMB_HEIGHT = 200
LINE_HEIGHT = 12


def contact_sheet(
    images: Sequence[Path],
    labels: Sequence[Sequence[int]],
    spec: DatasetSpec,
    columns: int = 6,
) -> Image.Image:
    """Grid of thumbnails, each captioned with `attribute: value` for every attribute."""
    rows = -(-len(images) // columns)
    cell_height = THUMB_HEIGHT + 6 + LINE_HEIGHT * spec.num_attributes
    sheet = Image.new("RGB", (columns * CELL_WIDTH, rows * cell_height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, (path, values) in enumerate(zip(images, labels, strict=True)):
        left = (index % columns) * CELL_WIDTH
        top = (index // columns) * cell_height
        with Image.open(path) as opened:
            thumb = opened.convert("RGB")
        thumb.thumbnail((CELL_WIDTH - 8, THUMB_HEIGHT))
        sheet.paste(thumb, (left + (CELL_WIDTH - thumb.width) // 2, top + 2))
        for line, (attribute, value) in enumerate(zip(spec.attributes, values, strict=True)):
            text = f"{attribute}: {spec.value_name(line, int(value))}"
            draw.text(
                (left + 4, top + THUMB_HEIGHT + 4 + line * LINE_HEIGHT),
                text,
                fill=(0, 0, 0),
                font=font,
            )
    return sheet
