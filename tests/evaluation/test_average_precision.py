import numpy as np
import pytest

from asen.evaluation import average_precisions, mean_average_precision

from .official_scorer import official_ap, official_map


def _case(rng, num_queries, num_candidates, dim, num_values, integer_features):
    if integer_features:  # small integer features: many exactly equal similarities (ties)
        queries = rng.integers(-1, 2, size=(num_queries, dim)).astype(np.float32)
        candidates = rng.integers(-1, 2, size=(num_candidates, dim)).astype(np.float32)
    else:
        queries = rng.standard_normal((num_queries, dim)).astype(np.float32)
        candidates = rng.standard_normal((num_candidates, dim)).astype(np.float32)
    query_values = rng.integers(0, num_values + 2, size=num_queries)  # some values absent
    candidate_values = rng.integers(0, num_values, size=num_candidates)
    return queries, candidates, query_values, candidate_values


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("integer_features", [False, True])
def test_equals_official_loop(seed, integer_features):
    rng = np.random.default_rng(seed)
    case = _case(rng, 37, 150 + seed * 20, 3, 4, integer_features)
    expected = official_map(*case)
    assert mean_average_precision(*case) == pytest.approx(expected, abs=1e-12)


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(11)
    case = _case(rng, 50, 80, 2, 3, True)
    whole = average_precisions(*case)
    # A chunk of one or three queries at a time must give the same APs bit for bit.
    assert np.array_equal(average_precisions(*case, chunk_cells=80), whole)
    assert np.array_equal(average_precisions(*case, chunk_cells=240), whole)


def test_queries_without_relevant_candidates_score_zero():
    rng = np.random.default_rng(3)
    queries = rng.standard_normal((4, 5))
    candidates = rng.standard_normal((6, 5))
    aps = average_precisions(queries, candidates, np.array([7, 7, 0, 1]), np.zeros(6, int))
    assert aps[0] == 0.0 and aps[1] == 0.0 and aps[3] == 0.0
    assert aps[2] == 1.0  # every candidate relevant


def test_known_ranking():
    # One query; candidate similarities 3, 2, 1, 0 -> ranking 0, 1, 2, 3; relevant at ranks 1, 3.
    query = np.array([[1.0]])
    candidates = np.array([[3.0], [2.0], [1.0], [0.0]])
    value = mean_average_precision(query, candidates, np.array([5]), np.array([5, 1, 5, 2]))
    assert value == pytest.approx(official_ap([1, 0, 1, 0]))
    assert value == pytest.approx((1 / 1 + 2 / 3) / 2)


def test_perfect_embeddings_give_one():
    values = np.arange(20) % 4
    embeddings = np.eye(4)[values]
    assert mean_average_precision(embeddings, embeddings, values, values) == pytest.approx(1.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        mean_average_precision(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(2), np.zeros(4))
    with pytest.raises(ValueError):
        mean_average_precision(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros(3), np.zeros(4))
