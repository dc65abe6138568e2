"""The demo's targets: a report that meets them passes, each kind of miss is named."""

import copy

from asen.demo.targets import DemoTargets, missed_targets, target_table


def entry(map_=0.6, chance=0.25, same=0.5, different=0.1, pointing=0.95):
    return {
        "map": map_,
        "queries": 75,
        "chance_map": chance,
        "same_similarity": same,
        "different_similarity": different,
        "pointing": pointing,
    }


GOOD = {"per_attribute": {"neck": entry(), "hem": entry(map_=0.36)}, "overall_map": 0.5}


def test_a_report_that_meets_every_target_passes():
    assert missed_targets(GOOD) == []
    lines = target_table({"stage 1": GOOD, "stage 2": GOOD})
    assert "neck" in lines[1] and "60.0% (25.0%)" in lines[1] and "95.0%" in lines[1]


def test_each_missed_target_is_reported():
    report = copy.deepcopy(GOOD)
    report["per_attribute"]["hem"] = entry(map_=0.34, same=0.2, different=0.2, pointing=0.79)
    missed = missed_targets(report, label="stage 2")
    assert len(missed) == 3
    assert missed[0].startswith("stage 2: hem: MAP 34.0% is not 10 points above chance (25.0%)")
    assert "same-value pairs are not more similar" in missed[1]
    assert "pointing game 79.0% < 80%" in missed[2]


def test_missing_figures_count_as_missed():
    report = {"per_attribute": {"neck": {"map": 0.9, "queries": 3}}}
    missed = missed_targets(report)
    assert len(missed) == 3 and all("n/a" in line for line in missed)
    assert missed_targets({"per_attribute": {}}) == ["model: the report has no attributes"]


def test_thresholds_are_settings():
    assert missed_targets(GOOD, DemoTargets(map_margin=0.2)) == [
        "model: hem: MAP 36.0% is not 20 points above chance (25.0%)"
    ]
    assert len(missed_targets(GOOD, DemoTargets(pointing=0.99))) == 2
