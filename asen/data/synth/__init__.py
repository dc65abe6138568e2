"""Procedurally drawn garments in the official data set layout, one visible region per attribute.

Lets the whole pipeline (training, evaluation, export, serving) run and be checked without the real
FashionAI / DARN / DeepFashion images, which cannot be redistributed.
"""

from asen.data.synth.attributes import ATTRIBUTE_REGIONS, ATTRIBUTE_VALUES, SYNTH_SPEC
from asen.data.synth.garment import GarmentImage, draw_garment
from asen.data.synth.settings import SynthSettings
from asen.data.synth.writer import SynthSummary, generate_synthetic_dataset

__all__ = [
    "ATTRIBUTE_REGIONS",
    "ATTRIBUTE_VALUES",
    "SYNTH_SPEC",
    "GarmentImage",
    "SynthSettings",
    "SynthSummary",
    "draw_garment",
    "generate_synthetic_dataset",
]
