"""What `asen data synth` draws: split sizes, image size, seed (flags generated from these)."""

from __future__ import annotations

from dataclasses import dataclass

from asen.data.synth.attributes import SYNTH_SPEC
from asen.data.synth.garment import DIFFICULTIES
from asen.setting import check_settings, setting

MIN_IMAGES = 2 * max(SYNTH_SPEC.num_values)  # the sampler needs two images per value


@dataclass(frozen=True, kw_only=True)
class SynthSettings:
    seed: int = setting(0, "same seed, same bytes")
    train: int = setting(3000, "training images", minimum=MIN_IMAGES)
    valid: int = setting(600, "validation images", minimum=MIN_IMAGES)
    test: int = setting(600, "test images", minimum=MIN_IMAGES)
    image_size: int = setting(
        240, "nominal image size: widths 0.67-1.08x, heights 0.75-1.25x this",
        minimum=32, maximum=1024,
    )  # fmt: skip
    difficulty: str = setting(
        "easy",
        "easy: square images, the garment whole in the centre crop, no blur, coarse details "
        "(a small model learns every attribute in minutes); hard: varied aspect ratios (the "
        "centre crop may cut the neckline or hem off), blur, noise, fine details",
        choices=tuple(DIFFICULTIES),
    )
    placket: bool = setting(
        False,
        "buttons drawn large and light on a plain dark placket strip (either difficulty): a "
        "tiny model learns the button count from them within the demo's budget",
    )
    workers: int | None = setting(None, "drawing processes (default: one per core, at most 8)",
                                  minimum=1)  # fmt: skip

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def counts(self) -> dict[str, int]:
        return {"train": self.train, "valid": self.valid, "test": self.test}
