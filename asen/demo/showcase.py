"""The demo's calls through the gateway: attribute-specific Compare and Rank, and pictures."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from asen.client import AsenClient, Sha256Ref
from asen.data import open_dataset
from asen.data.regions import AttributeRegions
from asen.visualize.attention import save_attention_grid


@dataclass
class LabelledImage:
    path: Path
    values: dict[str, int]  # attribute name -> value id
    image_id: int = -1  # line in filenames_test.txt


def test_images(data_root: Path) -> list[LabelledImage]:
    """Test images with every attribute's value (queries and candidates together label them)."""
    dataset = open_dataset(data_root)
    names = dataset.spec.attributes
    labels: dict[int, dict[str, int]] = {}
    for table in (dataset.queries("test"), dataset.candidates("test")):
        for image_id, attribute, value in zip(
            table.image_ids, table.attributes, table.values, strict=True
        ):
            labels.setdefault(int(image_id), {})[names[attribute]] = int(value)
    paths = dataset.images("test")
    complete = [i for i, values in sorted(labels.items()) if len(values) == len(names)]
    return [LabelledImage(paths[i], labels[i], i) for i in complete]


def similarity_by_agreement(
    client: AsenClient, images: list[LabelledImage], attributes: list[str]
) -> dict[str, tuple[float, float]]:
    """Per attribute: mean similarity of pairs that share its value vs pairs that do not.

    Every image is uploaded once (Embed, all attributes); the pairs are then compared by SHA-256,
    answered from the gateway's cache without sending an image again.
    """
    digests = [client.embed(image.path.read_bytes()).image_sha256 for image in images]
    same: dict[str, list[float]] = {name: [] for name in attributes}
    different: dict[str, list[float]] = {name: [] for name in attributes}
    for (a, da), (b, db) in itertools.combinations(zip(images, digests, strict=True), 2):
        scores = client.compare(Sha256Ref(da), Sha256Ref(db), attributes).scores
        for name in attributes:
            bucket = same if a.values[name] == b.values[name] else different
            bucket[name].append(scores[name].similarity)
    return {name: (_mean(same[name]), _mean(different[name])) for name in attributes}


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def contrasting_pair(
    images: list[LabelledImage], attributes: list[str]
) -> tuple[LabelledImage, LabelledImage]:
    """Two images that share the first attribute's value and differ on the most others."""
    target = attributes[0]
    pairs = [
        (a, b) for a, b in itertools.combinations(images, 2) if a.values[target] == b.values[target]
    ]
    return max(pairs, key=lambda p: sum(p[0].values[n] != p[1].values[n] for n in attributes))


def rank_demo(
    client: AsenClient, images: list[LabelledImage], attribute: str, count: int, seed: int
) -> tuple[LabelledImage, list[tuple[LabelledImage, float]]]:
    rng = random.Random(seed)
    query, *candidates = rng.sample(images, count + 1)
    result = client.rank(query.path.read_bytes(), attribute, [c.path for c in candidates])
    ranked = [(candidates[r.index], r.similarity) for r in result.results]
    return query, ranked


def save_attention_pictures(
    client: AsenClient,
    images: list[LabelledImage],
    attributes: list[str],
    value_name: Callable[[LabelledImage, str], str],
    folder: Path,
    regions: AttributeRegions | None = None,
    attribute_ids: dict[str, int] | None = None,
) -> list[Path]:
    """Per image, every attribute's attention map with its RoI box (and, with `regions`, the
    attribute's ground-truth region, dashed)."""
    saved = []
    for number, image in enumerate(images, start=1):
        result = client.embed(image.path.read_bytes(), attributes, include_attention=True)
        embeddings = [result.embeddings[name] for name in attributes]
        saved.append(
            save_attention_grid(
                Image.open(image.path).convert("RGB"),
                [e.attention for e in embeddings],
                [e.roi for e in embeddings],
                [f"{name}: {value_name(image, name)}" for name in attributes],
                folder / f"attention_{number}.png",
                columns=3,
                regions=(
                    [regions.of(image.image_id, attribute_ids[name]) for name in attributes]
                    if regions is not None and attribute_ids is not None
                    else None
                ),
            )
        )
    return saved
