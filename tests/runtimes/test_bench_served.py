"""`loadtests/bench_served_vs_bare.py` runs end to end (tiny model, short rounds) and its ratio is
the served figure over the bare limit of the same round; no speed is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_served_vs_bare_reports_a_ratio_per_round():
    completed = subprocess.run(
        [sys.executable, "loadtests/bench_served_vs_bare.py", "--small", "--rounds", "2",
         "--seconds", "1", "--bare-seconds", "0.2", "--batches", "1", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert set(report["best_bare_settings"]) == {"global_backbone", "global_head", "local_branch"}
    assert len(report["rounds"]) == 2
    for result in report["rounds"]:
        bare = result["bare"]["images_per_s"]
        per_graph = result["bare"]["per_graph"].values()
        assert abs(bare - 1 / sum(1 / rate for rate in per_graph)) < 0.01 * bare
        assert result["ratio"] == round(result["served"]["images_per_s"] / bare, 3)
        served_cpu = result["served"]["cpu_ms_per_image"]
        assert result["served"]["cpu_ms_per_image_server"] > 0  # the Triton process tree
        assert result["bare"]["cpu_ms_per_image"] > 0 and served_cpu > 0
        assert result["cpu_ratio"] == round(result["bare"]["cpu_ms_per_image"] / served_cpu, 3)
        server_cpu = result["served"]["cpu_ms_per_image_server"]
        assert result["cpu_ratio_server"] == round(
            result["bare"]["cpu_ms_per_image"] / server_cpu, 3
        )
        prep = result["bare"]["preprocessing_images_per_s"]  # the same work in this process
        with_prep = result["bare"]["with_preprocessing_images_per_s"]
        assert abs(with_prep - 1 / (1 / bare + 1 / prep)) < 0.01 * with_prep
        assert (
            result["bare"]["with_preprocessing_cpu_ms_per_image"]
            > result["bare"]["cpu_ms_per_image"]
        )
        assert result["ratio_with_preprocessing"] == round(
            result["served"]["images_per_s"] / with_prep, 3
        )
        parts = result["served"]["cpu_ms_per_image_server_by_part"]
        assert {"tritonserver", "preprocess", "roi_crop", "global_backbone"} <= set(parts)
        assert abs(sum(parts.values()) - server_cpu) < 0.05
        assert result["load_average_start"] >= 0 and result["load_average"] >= 0
        assert {"preprocess", "roi_crop", "global_backbone"} <= set(
            result["served"]["compute_shares"]
        )
    ratios = [r["ratio"] for r in report["rounds"]]
    assert report["ratio_min"] == min(ratios) and report["ratio_max"] == max(ratios)


def test_h2load_drives_the_single_model_layout():
    """The C load generator (one image, raw ModelInfer messages) against `--cpu-layout single`."""
    completed = subprocess.run(
        [sys.executable, "loadtests/bench_served_vs_bare.py", "--small", "--rounds", "1",
         "--seconds", "1", "--bare-seconds", "0.2", "--batches", "1", "--layouts", "1x1",
         "--load-generator", "h2load", "--concurrency", "3", "--cpu-layout", "single",
         "--cpu-preprocess", "fast"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["settings"]["load_generator"] == "h2load"
    served = report["rounds"][0]["served"]
    assert served["load_generator"] == "h2load" and served["requests"] > 0
    assert len(served["requests_per_photo_size"]) == 3  # one h2load per photo size
    assert sum(served["requests_per_photo_size"]) == served["requests"]
    assert set(served["cpu_ms_per_image_server_by_part"]) == {"asen", "tritonserver"}
    assert served["cpu_ms_per_image_client"] >= 0 and served["cpu_ms_per_image_server"] > 0
