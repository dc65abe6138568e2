"""Mean similarity of image pairs that share an attribute's value vs pairs that do not.

For each attribute, every image of the split annotated with it (queries and candidates together,
each image once; at most MAX_IMAGES, a seeded sample beyond that) is compared with every other by
the dot product of the embeddings MAP uses (the fused similarity for ASEN++). A model that has
learnt the attribute gives same-value pairs a higher mean similarity than different-value pairs;
one that has not gives both about the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_IMAGES = 2000


def value_agreement(
    embeddings: np.ndarray,
    image_ids: np.ndarray,
    attributes: np.ndarray,
    values: np.ndarray,
    attribute_names: Sequence[str],
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Per attribute name: same_similarity, different_similarity (means over pairs; NaN when a
    kind of pair does not occur)."""
    image_ids = np.asarray(image_ids)
    attributes = np.asarray(attributes)
    values = np.asarray(values)
    result = {}
    for attribute, name in enumerate(attribute_names):
        rows = np.flatnonzero(attributes == attribute)
        if len(rows) < 2:
            continue
        _, first = np.unique(image_ids[rows], return_index=True)
        rows = rows[np.sort(first)]
        if len(rows) > MAX_IMAGES:
            rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_IMAGES, replace=False))
        vectors = np.asarray(embeddings[rows], dtype=np.float64)
        similarity = vectors @ vectors.T
        upper = np.triu_indices(len(rows), k=1)
        same = (values[rows][:, None] == values[rows][None, :])[upper]
        pairs = similarity[upper]
        result[name] = {
            "same_similarity": float(pairs[same].mean()) if same.any() else float("nan"),
            "different_similarity": float(pairs[~same].mean()) if (~same).any() else float("nan"),
        }
    return result
