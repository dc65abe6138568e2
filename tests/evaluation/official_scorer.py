"""A plain loop transcription of the official ASEN++ MAP (evaluation.py + APScorer): the oracle
the vectorised metric is checked against."""

from __future__ import annotations

import numpy as np


def official_ap(sorted_labels: list[int]) -> float:
    relevant_total = len([x for x in sorted_labels if x > 0])
    if relevant_total == 0:
        return 0.0
    ap = 0.0
    seen = 0
    for i, label in enumerate(sorted_labels):
        if label >= 1:
            seen += 1
            ap += float(seen) / (i + 1.0)
    return ap / relevant_total


def official_map(queries, candidates, query_values, candidate_values) -> float:
    similarity = np.matmul(queries, candidates.T)
    total = 0.0
    for q in range(similarity.shape[0]):
        index = np.argsort(similarity[q])[::-1]
        labels = [1 if candidate_values[i] == query_values[q] else 0 for i in index]
        total += official_ap(labels)
    return total / similarity.shape[0]
