import numpy as np
import pytest

from asen.evaluation import attribute_maps, mean_average_precision, weighted_map


def test_per_attribute_maps_and_query_weighting():
    rng = np.random.default_rng(0)
    q, c = rng.standard_normal((30, 4)), rng.standard_normal((50, 4))
    qa = np.array([0] * 20 + [1] * 10)  # attribute 2 has no query, attribute 3 no candidate
    qa[-2:] = 3
    ca = rng.integers(0, 3, size=50)
    qv, cv = rng.integers(0, 3, size=30), rng.integers(0, 3, size=50)
    scores = attribute_maps(q, qa, qv, c, ca, cv, ["a", "b", "c", "d"])
    assert [s.name for s in scores] == ["a", "b", "d"]
    assert [s.queries for s in scores] == [20, 8, 2]
    for score, attribute in zip(scores, (0, 1, 3), strict=True):
        qi, ci = qa == attribute, ca == attribute
        assert score.map == mean_average_precision(q[qi], c[ci], qv[qi], cv[ci])
    assert scores[2].map == 0.0 and scores[2].candidates == 0
    expected = (20 * scores[0].map + 8 * scores[1].map + 2 * scores[2].map) / 30
    assert weighted_map(scores) == pytest.approx(expected)
    assert weighted_map([]) == 0.0
