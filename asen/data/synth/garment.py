"""Draw one synthetic garment (a dress seen from the front) from explicit attribute values.

Nuisance factors (image size, garment position and scale, background, fabric colour, pattern
phase, blur, noise, exact belt shade) come only from the seed, never from the attribute values, so
two drawings with the same seed that differ in one attribute differ only in that attribute's region.

Two difficulties share the geometry (so the attribute regions are the same) and differ in the
nuisances and in how large the small details are drawn:
- `easy` (the default; what `make demo` trains on): square images, so the official centre crop
  keeps the whole garment; no blur, little noise; coarse body patterns; larger buttons in a
  colour that contrasts with the fabric.
- `hard` (for research): widths 0.67-1.08 x and heights 0.75-1.25 x the nominal size, so the
  centre crop often cuts off the neckline or the hem; blur up to 0.9 px, noise up to 6 grey
  levels; fine patterns; small buttons that may be close to the fabric's colour.

`placket=True` (either difficulty) draws the buttons large and light on a plain dark placket strip
inside the button region, drawn whatever the count: no pattern behind the buttons, and the count is
the share of the strip they cover. A tiny model learns the count from it within the demo's budget,
which it never did from the default buttons (docs/training.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from asen.data.synth import colours
from asen.data.synth.attributes import (
    ATTRIBUTE_REGIONS,
    ATTRIBUTE_VALUES,
    GARMENT_HEIGHT,
    GARMENT_WIDTH,
)

SUPERSAMPLE = 2  # draw at twice the size, then reduce: cheap anti-aliasing
Point = tuple[float, float]
PixelBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Difficulty:
    """Ranges of the nuisance factors and sizes of the small details."""

    width: tuple[float, float]  # x nominal size
    height: tuple[float, float]
    fill_height: tuple[float, float]  # garment height / image height
    fill_width: tuple[float, float]  # garment width / image width (the smaller scale wins)
    blur: float  # largest Gaussian blur radius (px); below 0.45 none is applied
    noise: float  # largest noise sigma (grey levels)
    pattern_period: tuple[float, float]  # garment units
    button_radius: float  # garment units
    button_width: float  # horizontal radius / vertical radius (1: round; wider: toggles)
    neckline_width: float  # round, v and square necklines widened by this factor
    contrasting_buttons: bool  # button colour chosen against the fabric's lightness
    plain_placket: bool  # light buttons on a plain dark strip (no pattern behind them)
    placement: float  # share of the free space the garment's position varies over
    flat_background: bool  # no gradients or blotches behind the garment
    skin_tones: int  # how many of the skin tones (lightest first) necklines show
    fabric_saturation: tuple[float, float]
    fabric_value: tuple[float, float]  # HSV value: darker fabric contrasts with the background


DIFFICULTIES: dict[str, Difficulty] = {
    "easy": Difficulty(
        width=(1.0, 1.0), height=(1.0, 1.0), fill_height=(0.84, 0.94), fill_width=(0.8, 0.96),
        blur=0.0, noise=2.0, pattern_period=(9.0, 11.0), button_radius=2.3, button_width=2.0,
        neckline_width=1.35, contrasting_buttons=True, plain_placket=False, placement=0.3,
        flat_background=True, skin_tones=3, fabric_saturation=(0.25, 0.6), fabric_value=(0.35, 0.7),
    ),
    "hard": Difficulty(
        width=(0.67, 1.08), height=(0.75, 1.25), fill_height=(0.74, 0.92), fill_width=(0.8, 0.96),
        blur=0.9, noise=6.0, pattern_period=(5.5, 8.0), button_radius=1.7, button_width=1.0,
        neckline_width=1.0, contrasting_buttons=False, plain_placket=False, placement=1.0,
        flat_background=False, skin_tones=5, fabric_saturation=(0.1, 0.55),
        fabric_value=(0.45, 0.88),
    ),
}  # fmt: skip
# What `placket=True` changes in either difficulty.
PLACKET_BUTTONS = {"button_radius": 2.5, "button_width": 1.9, "plain_placket": True}

SLEEVE_LENGTHS = {"none": 0.0, "short": 11.0, "elbow": 23.0, "long": 40.0}
HEM_Y = {"mini": 76.0, "knee": 94.0, "midi": 110.0, "maxi": 126.0}
WAIST_Y = 56.0


@dataclass(frozen=True)
class GarmentImage:
    """A drawn garment and, per attribute, the pixel boxes (x0, y0, x1, y1) where it is visible."""

    image: Image.Image
    regions: dict[str, tuple[PixelBox, ...]]


@dataclass(frozen=True)
class _Look:
    """Everything about a drawing that is not an attribute value."""

    width: int
    height: int
    scale: float
    offset: Point
    background: colours.RGB
    background_kind: int
    background_noise: np.ndarray
    fabric: colours.RGB
    pattern_colour: colours.RGB
    pattern_period: float
    pattern_phase: Point
    skin: colours.RGB
    button: colours.RGB
    belt: dict[str, colours.RGB]
    blur: float
    noise_sigma: float
    noise_seed: int
    difficulty: Difficulty


def _draw_look(rng: np.random.Generator, image_size: int, difficulty: Difficulty) -> _Look:
    low, high = difficulty.width
    width = int(rng.integers(round(image_size * low), round(image_size * high) + 1))
    low, high = difficulty.height
    height = int(rng.integers(round(image_size * low), round(image_size * high) + 1))
    scale = min(
        height * rng.uniform(*difficulty.fill_height) / GARMENT_HEIGHT,
        width * rng.uniform(*difficulty.fill_width) / GARMENT_WIDTH,
    )
    free_x, free_y = width - GARMENT_WIDTH * scale, height - GARMENT_HEIGHT * scale
    margin = (1.0 - difficulty.placement) / 2
    offset = (
        free_x * margin + rng.uniform(0, free_x * difficulty.placement),
        free_y * margin + rng.uniform(0, free_y * difficulty.placement),
    )
    fabric = colours.garment_colour(rng, difficulty.fabric_saturation, difficulty.fabric_value)
    lighter = rng.random() < 0.5
    pattern_colour = colours.shade(fabric, rng.uniform(1.45, 1.75) if lighter else 0.5)
    # Drawn in the order of the first version of this generator: `hard` images stay identical.
    background = colours.background_colour(rng)
    background_kind = int(rng.integers(3))
    if difficulty.flat_background:
        background_kind = 0
    background_noise = rng.normal(0.0, 1.0, size=(6, 5))
    period = rng.uniform(*difficulty.pattern_period)
    phase = (rng.uniform(0, 8), rng.uniform(0, 8))
    skin = colours.SKIN_TONES[int(rng.integers(difficulty.skin_tones))]
    dark_button = rng.random() < 0.5
    if difficulty.contrasting_buttons:
        dark_button = sum(fabric) > 3 * 140  # dark buttons on light fabric, light on dark
    if difficulty.plain_placket:
        dark_button = False  # light buttons on the dark strip
    return _Look(
        width=width,
        height=height,
        scale=scale,
        offset=offset,
        background=background,
        background_kind=background_kind,
        background_noise=background_noise,
        fabric=fabric,
        pattern_colour=pattern_colour,
        pattern_period=period,
        pattern_phase=phase,
        skin=skin,
        button=colours.shade(fabric, 0.35) if dark_button else (235, 232, 220),
        belt={family: colours.belt_colour(family, rng) for family in colours.BELT_HUES},
        blur=rng.uniform(0.0, difficulty.blur),
        noise_sigma=rng.uniform(0.0, difficulty.noise),
        noise_seed=int(rng.integers(2**31)),
        difficulty=difficulty,
    )


def _resolve_values(values: Mapping[str, int | str] | Sequence[int]) -> dict[str, str]:
    """Attribute name -> value name, from value ids in attribute order or a name mapping."""
    names = list(ATTRIBUTE_VALUES)
    if not isinstance(values, Mapping):
        if len(values) != len(names):
            raise ValueError(f"expected {len(names)} values ({', '.join(names)})")
        values = dict(zip(names, values, strict=True))
    resolved: dict[str, str] = {}
    for name in names:
        value = values[name]
        choices = ATTRIBUTE_VALUES[name]
        resolved[name] = choices[int(value)] if not isinstance(value, str) else value
        if resolved[name] not in choices:
            raise ValueError(f"{name}: unknown value {value!r}; choose one of {choices}")
    return resolved


class _Canvas:
    """Garment units -> supersampled pixels, plus the drawing primitives used below."""

    def __init__(self, look: _Look, image: Image.Image) -> None:
        self.look = look
        self.factor = look.scale * SUPERSAMPLE
        self.image = image
        self.draw = ImageDraw.Draw(image)

    def point(self, x: float, y: float) -> Point:
        ox, oy = self.look.offset
        return ((ox + self.look.scale * x) * SUPERSAMPLE, (oy + self.look.scale * y) * SUPERSAMPLE)

    def points(self, points: Sequence[Point]) -> list[Point]:
        return [self.point(x, y) for x, y in points]

    def box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [*self.point(x0, y0), *self.point(x1, y1)]

    def units(self, length: float) -> int:
        return max(1, round(length * self.factor))

    def polygon(
        self, points: Sequence[Point], fill: colours.RGB, outline_factor: float = 0.7
    ) -> None:
        self.draw.polygon(
            self.points(points),
            fill=fill,
            outline=colours.shade(fill, outline_factor),
            width=self.units(0.6),
        )


def _background(look: _Look) -> Image.Image:
    """Drawn at output size: the garment layer is composited over it after anti-aliasing."""
    size = (look.width, look.height)
    if look.background_kind == 0:  # flat
        return Image.new("RGB", size, look.background)
    base = np.asarray(look.background, dtype=np.float32)
    if look.background_kind == 1:  # vertical gradient
        ramp = np.linspace(-18.0, 18.0, look.height, dtype=np.float32)[:, None, None]
        array = np.broadcast_to(base + ramp, (look.height, look.width, 3))
    else:  # soft blotches
        blotches = Image.fromarray(
            ((look.background_noise + 4.0) * 32.0).clip(0, 255).astype(np.uint8), "L"
        ).resize(size, Image.Resampling.BILINEAR)
        array = base + (np.asarray(blotches, dtype=np.float32)[..., None] - 128.0) * 0.25
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "RGB")


def _sleeves(canvas: _Canvas, length: float) -> None:
    if length <= 0:
        return
    for side in (-1.0, 1.0):
        direction = (0.574 * side, 0.819)  # 55 degrees below horizontal, outwards

        def mirrored(x: float, y: float, side: float = side) -> Point:
            return (50.0 - side * (x - 50.0), y)

        top, bottom = (32.0, 9.0), (27.0, 28.0)
        top, bottom = mirrored(*top), mirrored(*bottom)
        end_top = (top[0] + length * direction[0], top[1] + length * direction[1])
        end_bottom = (bottom[0] + length * direction[0] * 0.92, bottom[1] + length * direction[1])
        canvas.polygon([top, end_top, end_bottom, bottom], canvas.look.fabric)
        cuff = 0.9
        cuff_top = (top[0] + (length - 2.2) * direction[0], top[1] + (length - 2.2) * direction[1])
        cuff_bottom = (
            bottom[0] + (length - 2.2) * direction[0] * 0.92,
            bottom[1] + (length - 2.2) * direction[1],
        )
        canvas.polygon(
            [cuff_top, end_top, end_bottom, cuff_bottom], colours.shade(canvas.look.fabric, cuff)
        )


def _skirt(canvas: _Canvas, hem: float) -> None:
    flare = (hem - WAIST_Y) * 0.3
    canvas.polygon(
        [(33.0, WAIST_Y), (67.0, WAIST_Y), (67.0 + flare, hem), (33.0 - flare, hem)],
        canvas.look.fabric,
    )
    band = hem - 2.5
    band_flare = (band - WAIST_Y) * 0.3
    canvas.polygon(
        [
            (33.0 - band_flare, band),
            (67.0 + band_flare, band),
            (67.0 + flare, hem),
            (33 - flare, hem),
        ],
        colours.shade(canvas.look.fabric, 0.82),
    )


BODICE: tuple[Point, ...] = (
    (32.0, 9.0),
    (68.0, 9.0),
    (73.0, 28.0),
    (67.0, 57.0),
    (33.0, 57.0),
    (27.0, 28.0),
)


def _pattern(canvas: _Canvas, kind: str) -> None:
    """Fill the bodice with a fabric pattern; the pattern lives only inside the bodice outline."""
    look = canvas.look
    canvas.polygon(BODICE, look.fabric)
    if kind == "plain":
        return
    layer = Image.new("RGBA", canvas.image.size, look.fabric)
    draw = ImageDraw.Draw(layer)
    period = look.pattern_period
    phase_x, phase_y = look.pattern_phase
    ys = np.arange(9.0 - period + phase_y % period, 57.0 + period, period)
    xs = np.arange(27.0 - period + phase_x % period, 73.0 + period, period)
    for row, y in enumerate(ys):
        if kind == "stripes":
            draw.rectangle(canvas.box(20.0, y, 80.0, y + period * 0.45), fill=look.pattern_colour)
            continue
        for column, x in enumerate(xs):
            if kind == "dots":
                shift = period / 2 if row % 2 else 0.0
                radius = period * 0.2
                cx = x + shift
                draw.ellipse(
                    canvas.box(cx - radius, y - radius, cx + radius, y + radius),
                    fill=look.pattern_colour,
                )
            elif (row + column) % 2 == 0:  # checks
                draw.rectangle(canvas.box(x, y, x + period, y + period), fill=look.pattern_colour)
    mask = Image.new("L", canvas.image.size, 0)
    ImageDraw.Draw(mask).polygon(canvas.points(BODICE), fill=255)
    canvas.image.paste(layer, (0, 0), mask)
    canvas.draw.polygon(
        canvas.points(BODICE), outline=colours.shade(look.fabric, 0.7), width=canvas.units(0.6)
    )


def _neckline(canvas: _Canvas, kind: str) -> None:
    look = canvas.look
    if kind == "high":
        canvas.polygon(
            [(43.0, 1.0), (57.0, 1.0), (57.5, 11.0), (42.5, 11.0)], colours.shade(look.fabric, 0.8)
        )
        return
    skin = look.skin
    left, right = (
        50.0 - 9.0 * look.difficulty.neckline_width,
        50.0 + 9.0 * look.difficulty.neckline_width,
    )
    if kind == "round":
        canvas.draw.pieslice(canvas.box(left, 0.0, right, 18.0), 0, 180, fill=skin)
    elif kind == "v":
        canvas.draw.polygon(canvas.points([(left, 9.0), (right, 9.0), (50.0, 27.0)]), fill=skin)
    elif kind == "square":
        canvas.draw.rectangle(canvas.box(left, 9.0, right, 19.0), fill=skin)
    else:  # boat
        canvas.draw.pieslice(canvas.box(35.0, 5.0, 65.0, 13.0), 0, 180, fill=skin)


def _placket(canvas: _Canvas, count: int) -> None:
    look = canvas.look
    if look.difficulty.plain_placket:  # inside the button region, drawn for every count
        canvas.draw.rectangle(
            canvas.box(45.0, 29.0, 55.0, 52.5), fill=colours.shade(look.fabric, 0.5)
        )
    canvas.draw.line(
        canvas.points([(50.0, 30.0), (50.0, 52.5)]),
        fill=colours.shade(look.fabric, 0.6),
        width=canvas.units(0.8),
    )
    radius = look.difficulty.button_radius
    across = radius * look.difficulty.button_width
    for index in range(count):
        y = 31.5 + (index + 0.5) * (20.5 / count)
        canvas.draw.ellipse(
            canvas.box(50.0 - across, y - radius, 50.0 + across, y + radius),
            fill=look.button,
            outline=colours.shade(look.button, 0.6),
            width=canvas.units(0.4),
        )


def _belt(canvas: _Canvas, family: str) -> None:
    colour = canvas.look.belt[family]
    canvas.polygon([(32.0, 52.0), (68.0, 52.0), (68.0, 59.0), (32.0, 59.0)], colour, 0.55)
    canvas.draw.rectangle(
        canvas.box(47.0, 52.8, 53.0, 58.2), outline=(190, 180, 150), width=canvas.units(1.0)
    )


def _finish(look: _Look, layer: Image.Image) -> Image.Image:
    """Anti-alias the supersampled garment layer, put it on the background, add blur and noise."""
    garment = layer.convert("RGBa").reduce(SUPERSAMPLE).convert("RGBA")
    image = _background(look).convert("RGBA")
    image.alpha_composite(garment)
    image = image.convert("RGB")
    if look.blur > 0.45:
        image = image.filter(ImageFilter.GaussianBlur(look.blur))
    if look.noise_sigma > 0.5:
        noise = np.random.default_rng(look.noise_seed).standard_normal(
            (look.height, look.width, 1), dtype=np.float32
        )
        array = np.asarray(image, dtype=np.int16) + (noise * look.noise_sigma).astype(np.int16)
        image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "RGB")
    return image


def _regions(look: _Look) -> dict[str, tuple[PixelBox, ...]]:
    ox, oy = look.offset

    def to_pixels(box: tuple[float, float, float, float]) -> PixelBox:
        x0, y0, x1, y1 = box
        return (
            max(0, int(np.floor(ox + look.scale * x0))),
            max(0, int(np.floor(oy + look.scale * y0))),
            min(look.width, int(np.ceil(ox + look.scale * x1))),
            min(look.height, int(np.ceil(oy + look.scale * y1))),
        )

    return {
        name: tuple(to_pixels(box) for box in boxes) for name, boxes in ATTRIBUTE_REGIONS.items()
    }


def draw_garment(
    values: Mapping[str, int | str] | Sequence[int],
    seed: int | Sequence[int],
    image_size: int = 240,
    difficulty: str = "easy",
    placket: bool = False,
) -> GarmentImage:
    """Draw a garment with the given attribute values (ids in attribute order, or name -> id/name).

    `image_size` is the nominal size (`hard`: widths vary in [0.67, 1.08] x size, heights in
    [0.75, 1.25] x size, so aspect ratios differ from image to image; `easy`: square).
    `placket`: large light buttons on a plain dark strip (see the module docstring).
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown difficulty {difficulty!r}; choose one of {list(DIFFICULTIES)}")
    named = _resolve_values(values)
    ranges = DIFFICULTIES[difficulty]
    if placket:
        ranges = replace(ranges, **PLACKET_BUTTONS)
    look = _draw_look(np.random.default_rng(seed), image_size, ranges)
    layer = Image.new("RGBA", (look.width * SUPERSAMPLE, look.height * SUPERSAMPLE), (0, 0, 0, 0))
    canvas = _Canvas(look, layer)
    # Neck first: the neckline cut-outs show skin, the high collar covers it.
    canvas.draw.rectangle(canvas.box(44.0, 0.0, 56.0, 12.0), fill=look.skin)
    _sleeves(canvas, SLEEVE_LENGTHS[named["sleeve_length"]])
    _skirt(canvas, HEM_Y[named["hem_length"]])
    _pattern(canvas, named["body_pattern"])
    _neckline(canvas, named["neckline_shape"])
    _placket(canvas, int(named["button_count"]))
    _belt(canvas, named["belt_colour"])
    return GarmentImage(image=_finish(look, canvas.image), regions=_regions(look))
