"""Triplet accuracy on an evaluation split: a second, easier-to-read quality figure next to MAP.

Definition. A triplet (anchor, positive, negative) is drawn from the split's labels alone:
  - the anchor is a query entry, uniform over the queries that have at least one candidate of the
    same attribute with the same value and one with a different value (so attributes count in
    proportion to their queries, like the overall MAP);
  - the positive is uniform over the candidates of that attribute with the anchor's value;
  - the negative is uniform over the candidates of that attribute with any other value.
Triplet accuracy = share of triplets with sim(anchor, positive) > sim(anchor, negative) (strictly;
a tie counts as wrong), sim = dot product of the embeddings used for MAP.
The triplets depend only on (labels, count, seed), so models are compared on the same triplets.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

DEFAULT_TRIPLETS = 10_000
DEFAULT_SEED = 0
_KEY_BASE = np.int64(1) << np.int64(32)  # values are far below 2**32


class EvalTriplets(NamedTuple):
    """Row indices: anchors into the queries, positives and negatives into the candidates."""

    anchors: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray


def sample_eval_triplets(
    query_attributes: np.ndarray,
    query_values: np.ndarray,
    candidate_attributes: np.ndarray,
    candidate_values: np.ndarray,
    count: int = DEFAULT_TRIPLETS,
    seed: int = DEFAULT_SEED,
) -> EvalTriplets:
    """`count` triplets as defined in the module docstring; empty when no query is eligible."""
    query_attributes = np.asarray(query_attributes, dtype=np.int64)
    query_values = np.asarray(query_values, dtype=np.int64)
    candidate_attributes = np.asarray(candidate_attributes, dtype=np.int64)
    candidate_values = np.asarray(candidate_values, dtype=np.int64)
    # Candidates sorted by the key (attribute, value): each value group is one contiguous run,
    # inside the contiguous run of its attribute.
    candidate_keys = candidate_attributes * _KEY_BASE + candidate_values
    order = np.argsort(candidate_keys, kind="stable")
    sorted_keys = candidate_keys[order]
    query_keys = query_attributes * _KEY_BASE + query_values
    group_start = np.searchsorted(sorted_keys, query_keys, side="left")
    group_stop = np.searchsorted(sorted_keys, query_keys, side="right")
    attr_start = np.searchsorted(sorted_keys, query_attributes * _KEY_BASE, side="left")
    attr_stop = np.searchsorted(sorted_keys, (query_attributes + 1) * _KEY_BASE, side="left")
    same = group_stop - group_start
    other = (attr_stop - attr_start) - same
    eligible = np.flatnonzero((same > 0) & (other > 0))
    empty = np.zeros(0, dtype=np.int64)
    if len(eligible) == 0 or count <= 0:
        return EvalTriplets(empty, empty, empty)
    rng = np.random.default_rng(seed)
    anchors = eligible[rng.integers(0, len(eligible), size=count)]
    pick_same = rng.integers(0, same[anchors])
    pick_other = rng.integers(0, other[anchors])
    positives = order[group_start[anchors] + pick_same]
    # Skip over the anchor's own value group inside the attribute's run.
    before = group_start[anchors] - attr_start[anchors]
    other_offset = np.where(pick_other < before, pick_other, pick_other + same[anchors])
    negatives = order[attr_start[anchors] + other_offset]
    return EvalTriplets(anchors, positives, negatives)


def triplet_accuracy(
    query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, triplets: EvalTriplets
) -> float:
    """Share of triplets ranked right; 0.0 when there are none."""
    if len(triplets.anchors) == 0:
        return 0.0
    anchor = query_embeddings[triplets.anchors]
    positive = np.einsum("ij,ij->i", anchor, candidate_embeddings[triplets.positives])
    negative = np.einsum("ij,ij->i", anchor, candidate_embeddings[triplets.negatives])
    return float(np.mean(positive > negative))
