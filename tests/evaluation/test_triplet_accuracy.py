import numpy as np
import pytest

from asen.evaluation import sample_eval_triplets, triplet_accuracy


def _labels(rng):
    query_attributes = rng.integers(0, 3, size=60)
    query_values = rng.integers(0, 4, size=60)
    candidate_attributes = rng.integers(0, 3, size=200)
    candidate_values = rng.integers(0, 4, size=200)
    return query_attributes, query_values, candidate_attributes, candidate_values


def test_triplets_follow_the_definition():
    qa, qv, ca, cv = _labels(np.random.default_rng(0))
    triplets = sample_eval_triplets(qa, qv, ca, cv, count=5000, seed=1)
    assert len(triplets.anchors) == 5000
    a, p, n = triplets
    assert np.all(ca[p] == qa[a]) and np.all(ca[n] == qa[a])
    assert np.all(cv[p] == qv[a]) and np.all(cv[n] != qv[a])
    # Every eligible (query, positive, negative) is reachable: the draws cover all candidates
    # that can play each role for a frequently drawn anchor.
    anchor = np.bincount(a).argmax()
    same = set(np.flatnonzero((ca == qa[anchor]) & (cv == qv[anchor])))
    other = set(np.flatnonzero((ca == qa[anchor]) & (cv != qv[anchor])))
    assert set(p[a == anchor]) <= same and set(n[a == anchor]) <= other
    assert len(set(n[a == anchor])) > 1


def test_fixed_seed_is_reproducible_and_seed_matters():
    labels = _labels(np.random.default_rng(2))
    first = sample_eval_triplets(*labels, count=100, seed=7)
    again = sample_eval_triplets(*labels, count=100, seed=7)
    other = sample_eval_triplets(*labels, count=100, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert not np.array_equal(first.anchors, other.anchors)


def test_queries_without_positive_or_negative_are_never_anchors():
    qa = np.array([0, 0, 1])
    qv = np.array([0, 5, 0])  # value 5 has no candidate; attribute 1 has a single value
    ca = np.array([0, 0, 1, 1])
    cv = np.array([0, 1, 0, 0])
    triplets = sample_eval_triplets(qa, qv, ca, cv, count=50, seed=0)
    assert set(triplets.anchors.tolist()) == {0}
    assert set(triplets.positives.tolist()) == {0} and set(triplets.negatives.tolist()) == {1}


def test_no_eligible_query_gives_no_triplets_and_zero_accuracy():
    triplets = sample_eval_triplets([0], [0], [0, 0], [0, 0], count=10)
    assert len(triplets.anchors) == 0
    assert triplet_accuracy(np.zeros((1, 2)), np.zeros((2, 2)), triplets) == 0.0


def test_accuracy_counts_strictly_better_positives():
    qa, qv, ca, cv = _labels(np.random.default_rng(4))
    triplets = sample_eval_triplets(qa, qv, ca, cv, count=400, seed=0)
    key_q = np.eye(12)[qa * 4 + qv]
    key_c = np.eye(12)[ca * 4 + cv]
    assert triplet_accuracy(key_q, key_c, triplets) == 1.0
    assert triplet_accuracy(-key_q, key_c, triplets) == 0.0
    assert triplet_accuracy(np.ones((60, 3)), np.ones((200, 3)), triplets) == 0.0  # ties
    rng = np.random.default_rng(5)
    q, c = rng.standard_normal((60, 8)), rng.standard_normal((200, 8))
    a, p, n = triplets
    expected = np.mean([q[i] @ c[j] > q[i] @ c[k] for i, j, k in zip(a, p, n, strict=True)])
    assert triplet_accuracy(q, c, triplets) == pytest.approx(expected)
