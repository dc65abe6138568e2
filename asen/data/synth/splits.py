"""Labels of the synthetic splits and the query/candidate division of the evaluation splits.

Labels are balanced and independent: for each attribute, a split's images get a random permutation
of (0, 1, ..., k-1, 0, 1, ...), so every value appears floor(n/k) or ceil(n/k) times (the triplet
sampler needs >= 2 images per value) and attributes stay uncorrelated with each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPLIT_IDS = {"train": 0, "valid": 1, "test": 2}
QUERY_FRACTION = 0.25


def draw_labels(seed: int, split: str, count: int, num_values: Sequence[int]) -> np.ndarray:
    """(count, num_attributes) int64 value ids."""
    rng = np.random.default_rng([seed, SPLIT_IDS[split], 0])
    columns = [rng.permutation(np.arange(count) % k) for k in num_values]
    return np.stack(columns, axis=1).astype(np.int64)


def split_queries(
    seed: int, split: str, labels: np.ndarray, query_fraction: float = QUERY_FRACTION
) -> np.ndarray:
    """Boolean (images, attributes) table: True = the (image, attribute) pair is a query.

    Each pair is either a query or a candidate, never both (as in the official files). A query's
    value always has at least one candidate, so every query has an average precision; with
    balanced labels and >= 2 images per value every attribute keeps its queries.
    """
    count, num_attributes = labels.shape
    if count < 2 * int(labels.max(initial=1)) + 2:
        raise ValueError("an evaluation split needs at least two images per value")
    rng = np.random.default_rng([seed, SPLIT_IDS[split], 1])
    is_query = np.zeros((count, num_attributes), dtype=bool)
    num_queries = min(count - 1, max(1, round(count * query_fraction)))
    for attribute in range(num_attributes):
        is_query[rng.permutation(count)[:num_queries], attribute] = True
        column = labels[:, attribute]
        for value in np.unique(column[is_query[:, attribute]]):
            with_value = column == value
            if not np.any(with_value & ~is_query[:, attribute]):
                # No candidate left with this value: turn one of its queries into a candidate.
                first = int(np.flatnonzero(with_value & is_query[:, attribute])[0])
                is_query[first, attribute] = False
    return is_query
