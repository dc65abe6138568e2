"""Per-attribute MAP and the overall MAP weighted by each attribute's number of queries.

This is the official summary (`AverageMeter.update(mAP, n_queries)`): an attribute with many
queries counts more. Attributes with no query in the split are left out (the official code would
divide by zero on them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asen.evaluation.average_precision import mean_average_precision


@dataclass(frozen=True)
class AttributeScore:
    name: str
    map: float
    queries: int
    candidates: int


def attribute_maps(
    query_embeddings: np.ndarray,
    query_attributes: np.ndarray,
    query_values: np.ndarray,
    candidate_embeddings: np.ndarray,
    candidate_attributes: np.ndarray,
    candidate_values: np.ndarray,
    attribute_names: Sequence[str],
) -> list[AttributeScore]:
    """MAP of each attribute id that has queries: its queries ranked against its candidates."""
    scores = []
    for attribute, name in enumerate(attribute_names):
        q = np.flatnonzero(query_attributes == attribute)
        if len(q) == 0:
            continue
        c = np.flatnonzero(candidate_attributes == attribute)
        value = mean_average_precision(
            query_embeddings[q], candidate_embeddings[c], query_values[q], candidate_values[c]
        )
        scores.append(AttributeScore(name, value, len(q), len(c)))
    return scores


def weighted_map(scores: Sequence[AttributeScore]) -> float:
    """Overall MAP: per-attribute MAPs weighted by their numbers of queries."""
    total = sum(score.queries for score in scores)
    if total == 0:
        return 0.0
    return sum(score.map * score.queries for score in scores) / total
