"""`loadtests/measure_preprocess_costs.py` runs and its decode-once estimate adds up; no speed is
asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_measure_preprocess_costs_reports_every_step():
    completed = subprocess.run(
        [sys.executable, "loadtests/measure_preprocess_costs.py", "--images", "3", "--repeat", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    costs = report["cpu_ms_per_call"]
    assert {"decode_jpeg", "normalise_224_table", "normalise_224_float_arithmetic"} <= set(costs)
    assert all(value >= 0 for value in costs.values())
    estimate = report["decode_once_estimate_ms"]
    hand_over = costs["decoded_to_numpy"] + 3 * costs["copy_decoded_array"] + costs["numpy_to_pil"]
    assert abs(estimate["hand_over_decoded_pixels"] - hand_over) < 0.002
    assert estimate["decode_again"] == costs["decode_jpeg"]
    saved = estimate["decode_again"] - estimate["hand_over_decoded_pixels"]
    assert abs(estimate["saved_per_image"] - saved) < 0.002
