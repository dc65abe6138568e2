"""A small data set in the official layout, written by the tests themselves."""

import json

import numpy as np
from PIL import Image

ATTRIBUTES = [("colour", 4), ("shade", 3)]


def write_toy_dataset(root, rng, num_images=40, num_queries=25, num_candidates=60):
    """Noise images, the top-left pixel's red channel = 5 x image id (a label-free way for test
    embedders to know the image); query and candidate lines of random (image, attribute) pairs."""
    (root / "images").mkdir(parents=True)
    names = []
    for index in range(num_images):
        name = f"images/{index:03d}.png"
        pixels = rng.integers(0, 256, size=(30 + index % 5 * 9, 20 + index % 7 * 6, 3))
        pixels[0, 0] = (index * 5, 7, 9)
        Image.fromarray(pixels.astype(np.uint8)).save(root / name)
        names.append(name)
    (root / "filenames_test.txt").write_text("\n".join(names) + "\n")
    (root / "attributes.json").write_text(
        json.dumps(
            {"name": "toy", "attributes": [{"name": n, "num_values": c} for n, c in ATTRIBUTES]}
        )
    )
    # One value per (image, attribute), as in real annotations; lines pick random pairs, so an
    # image may be a query for one attribute and a candidate for another (or for the same).
    values = np.stack([rng.integers(0, count, size=num_images) for _, count in ATTRIBUTES], 1)
    lines = {}
    for kind, count in (("query", num_queries), ("candidate", num_candidates)):
        image_ids = rng.integers(0, num_images, size=count)
        attributes = rng.integers(0, len(ATTRIBUTES), size=count)
        rows = [
            (int(f), int(a), int(values[f, a])) for f, a in zip(image_ids, attributes, strict=True)
        ]
        (root / f"{kind}_test.txt").write_text("".join(f"{f} {a} {v}\n" for f, a, v in rows))
        lines[kind] = np.array(rows)
    return lines
