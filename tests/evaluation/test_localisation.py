"""Attention localisation (pointing game, RoI shares), chance MAP and same/different similarity."""

import numpy as np
import pytest

from asen.data.regions import AttributeRegions
from asen.evaluation.agreement import value_agreement
from asen.evaluation.average_precision import (
    average_precisions,
    chance_average_precision,
    chance_map,
)
from asen.evaluation.localisation import (
    attention_peak,
    box_shares,
    localisation_scores,
    pointing_hit,
    to_source,
)


def test_peak_maps_through_resize_and_centre_crop():
    # A 200 x 100 (w x h) image: shorter side 100 -> G = 50, centre crop starts 50 px right.
    attention = np.zeros((5, 5))
    attention[1, 4] = 1.0  # row 1, column 4: global-frame centre (45, 15)
    peak = attention_peak(attention, (200, 100), 50)
    assert (peak.x, peak.y) == pytest.approx((45 * 2 + 50, 15 * 2))
    assert (peak.tolerance_x, peak.tolerance_y) == pytest.approx((5, 5))  # 10 px cells x 2 / 4
    # A tall image shifts y instead; the centre option is the frame's centre, whatever the map.
    assert to_source(10, 10, (100, 300), 50) == pytest.approx((20, 20 + 100))
    centre = attention_peak(attention, (100, 300), 50, centre=True)
    assert (centre.x, centre.y) == pytest.approx((50, 150))


def test_pointing_allows_a_quarter_cell_and_any_box():
    attention = np.zeros((4, 4))
    attention[0, 0] = 1.0  # peak at (12.5, 12.5) in a 100 px image, G = 100: tolerance 6.25
    peak = attention_peak(attention, (100, 100), 100)
    assert pointing_hit(peak, [(0, 0, 20, 20)])
    assert pointing_hit(peak, [(18, 0, 40, 10)])  # 18 - 6.25 <= 12.5
    assert not pointing_hit(peak, [(19, 0, 40, 40)])
    assert not pointing_hit(peak, [(0, 0, 6, 6)])  # 6 + 6.25 <= 12.5: x1 exclusive
    assert not pointing_hit(peak, [(50, 50, 60, 60)])
    assert pointing_hit(peak, [(50, 50, 60, 60), (0, 15, 10, 30)])  # the second box


def test_box_shares_use_the_union_of_boxes():
    # Region: two 10 x 10 boxes (overlapping by 5 x 10 -> union 150 px); RoI 20 x 10.
    boxes = [(0, 0, 10, 10), (5, 0, 15, 10)]
    on_region, covered = box_shares((0, 0, 20, 10), boxes, (40, 40))
    assert on_region == pytest.approx(150 / 200)
    assert covered == pytest.approx(1.0)
    on_region, covered = box_shares((10, 0, 40, 40), boxes, (40, 40))
    assert on_region == pytest.approx(50 / 1200)
    assert covered == pytest.approx(50 / 150)
    assert box_shares((30, 30, 30, 30), boxes, (40, 40)) == (0.0, 0.0)  # empty RoI


def test_localisation_scores_per_attribute():
    attention = np.zeros((3, 2, 2))
    attention[0, 0, 0] = attention[1, 1, 1] = attention[2, 0, 0] = 1.0
    regions = AttributeRegions({(0, 0): ((0, 0, 10, 10),), (1, 0): ((0, 0, 10, 10),)})
    pairs = np.array([[0, 0], [1, 0], [2, 0]])  # image 2 has no ground truth: left out
    rois = np.array([[0, 0, 10, 10], [0, 0, 20, 20], [0, 0, 5, 5]], dtype=np.float32)
    scores = localisation_scores(pairs, attention, rois, [(20, 20)] * 3, regions, 20, ["a", "b"])
    assert list(scores) == ["a"]
    entry = scores["a"]
    assert entry["localised_pairs"] == 2
    assert entry["pointing"] == pytest.approx(0.5)  # image 1 peaks at (15, 15)
    assert entry["roi_in_region"] == pytest.approx((1.0 + 0.25) / 2)
    assert entry["region_in_roi"] == pytest.approx(1.0)


@pytest.mark.parametrize(("candidates", "relevant"), [(7, 1), (7, 3), (12, 5), (5, 5), (9, 0)])
def test_chance_ap_is_the_mean_over_all_rankings(candidates, relevant):
    rng = np.random.default_rng(candidates * 10 + relevant)
    values = np.array([1] * relevant + [0] * (candidates - relevant))
    draws = 4000
    scores = rng.random((draws, candidates))  # random similarities: a random ranking per row
    # average_precisions on 1-d "embeddings": similarity = query (1) x candidate score.
    aps = [
        average_precisions(np.ones((1, 1)), row[:, None], np.array([1]), values)[0]
        for row in scores
    ]
    assert chance_average_precision(candidates, relevant) == pytest.approx(np.mean(aps), abs=0.01)


def test_chance_map_averages_over_queries():
    expected = (chance_average_precision(6, 2) + chance_average_precision(6, 4)) / 2
    assert chance_map(np.array([0, 1]), np.array([0, 0, 1, 1, 1, 1])) == pytest.approx(expected)


def test_value_agreement_separates_learnt_from_unlearnt():
    rng = np.random.default_rng(0)
    values = np.repeat([0, 1, 2], 10)
    learnt = np.eye(3)[values] + 0.1 * rng.standard_normal((30, 3))
    noise = rng.standard_normal((30, 3))
    embeddings = np.concatenate([learnt, noise])
    image_ids = np.concatenate([np.arange(30), np.arange(30)])
    attributes = np.repeat([0, 1], 30)
    result = value_agreement(
        embeddings, image_ids, attributes, np.concatenate([values, values]), ["good", "bad"]
    )
    good, bad = result["good"], result["bad"]
    assert good["same_similarity"] > 0.9 and abs(good["different_similarity"]) < 0.1
    assert abs(bad["same_similarity"] - bad["different_similarity"]) < 1.0
    # Each image counts once even when it is listed twice.
    twice = value_agreement(
        np.concatenate([learnt, learnt]), np.tile(np.arange(30), 2), np.zeros(60, int),
        np.tile(values, 2), ["good"],
    )  # fmt: skip
    assert twice["good"] == pytest.approx(result["good"])
