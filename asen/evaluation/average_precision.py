"""Mean average precision with exactly the official ASEN/ASEN++ semantics, vectorised.

Official rule (`modules/engine/evaluation.py` + `APScorer`): sim = queries @ candidates.T; each
query ranks ALL candidates by `np.argsort(sim)[::-1]` (so among equal similarities the order is
numpy's argsort order, reversed); relevant = same value; AP = sum over relevant positions of
(relevant so far / position) divided by the number of relevant candidates, 0 when there are none;
MAP = mean AP over queries.
"""

from __future__ import annotations

import numpy as np

# Upper bound on query x candidate cells sorted at once (int64 order + bool + int32 counts).
CHUNK_CELLS = 1 << 23


def average_precisions(
    queries: np.ndarray,
    candidates: np.ndarray,
    query_values: np.ndarray,
    candidate_values: np.ndarray,
    chunk_cells: int = CHUNK_CELLS,
) -> np.ndarray:
    """AP of every query [Q] (float64).

    The similarity matrix is one product, as the official code computes it, so floating-point
    near-ties resolve exactly as there; sorting and relevance bookkeeping run in chunks of
    queries to bound memory.
    """
    queries = np.asarray(queries)
    candidates = np.asarray(candidates)
    query_values = np.asarray(query_values).reshape(-1)
    candidate_values = np.asarray(candidate_values).reshape(-1)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(f"embeddings of shapes {queries.shape} and {candidates.shape} differ")
    if len(query_values) != len(queries) or len(candidate_values) != len(candidates):
        raise ValueError("one value per query and per candidate is needed")
    num_queries, num_candidates = len(queries), len(candidates)
    result = np.zeros(num_queries, dtype=np.float64)
    if num_queries == 0 or num_candidates == 0:
        return result
    similarity = np.matmul(queries, candidates.T)
    positions = np.arange(1, num_candidates + 1, dtype=np.float64)
    rows = max(1, chunk_cells // num_candidates)
    for start in range(0, num_queries, rows):
        stop = min(start + rows, num_queries)
        order = np.argsort(similarity[start:stop], axis=1)[:, ::-1]
        relevant = candidate_values[order] == query_values[start:stop, None]
        hits = np.cumsum(relevant, axis=1, dtype=np.int64)
        precision_sum = np.where(relevant, hits / positions, 0.0).sum(axis=1)
        count = hits[:, -1]
        result[start:stop] = np.where(count > 0, precision_sum / np.maximum(count, 1), 0.0)
    return result


def mean_average_precision(
    queries: np.ndarray,
    candidates: np.ndarray,
    query_values: np.ndarray,
    candidate_values: np.ndarray,
) -> float:
    """MAP of one attribute's queries against its candidates (official metric); 0.0 for no query."""
    aps = average_precisions(queries, candidates, query_values, candidate_values)
    return float(aps.mean()) if len(aps) else 0.0


def chance_average_precision(num_candidates: int, num_relevant: int) -> float:
    """Expected AP of a uniformly random ranking of N candidates of which R are relevant.

    A relevant candidate sits at position p (uniform on 1..N) with, on average,
    (p - 1)(R - 1)/(N - 1) other relevant ones before it, so
    E[AP] = (1/N) * sum_p (1 + (p - 1)(R - 1)/(N - 1)) / p
          = (H_N + (R - 1)/(N - 1) * (N - H_N)) / N,  H_N the N-th harmonic number;
    0 when R = 0 (the official rule), 1 when R = N.
    """
    if num_relevant <= 0 or num_candidates <= 0:
        return 0.0
    if num_candidates == 1:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, num_candidates + 1)))
    ratio = (num_relevant - 1) / (num_candidates - 1)
    return (harmonic + ratio * (num_candidates - harmonic)) / num_candidates


def chance_map(query_values: np.ndarray, candidate_values: np.ndarray) -> float:
    """Expected MAP of random rankings: the chance level of one attribute's MAP."""
    query_values = np.asarray(query_values).reshape(-1)
    candidate_values = np.asarray(candidate_values).reshape(-1)
    if len(query_values) == 0:
        return 0.0
    values, counts = np.unique(candidate_values, return_counts=True)
    relevant = dict(zip(values.tolist(), counts.tolist(), strict=True))
    total = len(candidate_values)
    return float(
        np.mean(
            [chance_average_precision(total, relevant.get(v, 0)) for v in query_values.tolist()]
        )
    )
