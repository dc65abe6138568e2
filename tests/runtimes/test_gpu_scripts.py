"""The GPU scripts' CPU paths: `scripts/gpu_check.sh --dry-run` and `gpu_bench.py --dry-run` run
every step but the GPU itself (export of the gpu target, a real tritonserver serving the cpu
target, parity against the in-process embedder, load, Triton's metrics), so they are known to
work when a GPU machine runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asen.checkpoint import load_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.inference import Embedder
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
LOADTESTS = ROOT / "loadtests"
sys.path.insert(0, str(LOADTESTS))

from bench_models import random_checkpoint  # noqa: E402
from gpu_check import check_parity, parity_images  # noqa: E402

PYTHON = sys.executable


def run_script(*command: str) -> tuple[int, dict, str]:
    completed = subprocess.run(
        list(command), cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHON": PYTHON},
    )  # fmt: skip
    report = json.loads(completed.stdout) if completed.stdout.strip() else {}
    return completed.returncode, report, completed.stderr


def test_gpu_check_dry_run_exports_serves_and_checks_parity():
    """With the device pre-processing: the served preprocess and roi_crop run the torch resize
    (on the CPU here) and nvImageCodec's CPU decoder, and must still equal the in-process
    Pillow path exactly enough for the parity rule (the default exact path is served by every
    other Triton test)."""
    code, report, stderr = run_script(
        "bash", "scripts/gpu_check.sh", "--dry-run", "--small", "--synthetic-images", "4",
        "--photos", "2", "--concurrency", "1", "3", "--seconds", "1", "--gpu-preprocess", "device",
    )  # fmt: skip
    assert code == 0, stderr[-3000:]
    assert "-gpu-" in report["gpu_model_version"]  # the gpu target was exported (and checked)
    assert report["gpu_preprocess"] == "device"
    assert report["target_served"] == "cpu (dry run)"
    parity = report["parity"]
    assert parity["passed"] and parity["pairs"] == 6 * 8
    assert parity["min_cosine"] >= 0.9999 and parity["roi_differing"] == []
    assert [run["concurrency"] for run in report["throughput"]] == [1, 3]
    assert all(run["images_per_s"] > 0 for run in report["throughput"])


def test_parity_check_fails_on_a_different_model(tmp_path):
    served = load_checkpoint(random_checkpoint(tmp_path / "a.pt", small=True))
    repository = export_repository(served, tmp_path / "repo", ExportSettings()).repository
    images = parity_images(tmp_path, 2, 1)
    with TritonServer(repository, *free_ports(3)) as server:
        same = check_parity(server.grpc_url, Embedder(served), images)
        other = load_checkpoint(random_checkpoint(tmp_path / "b.pt", small=True, seed=1))
        different = check_parity(server.grpc_url, Embedder(other), images)
    assert same["passed"]
    assert not different["passed"] and different["min_cosine"] < 0.9999


@pytest.mark.parametrize("batches", [["1", "2"]])
def test_gpu_bench_dry_run_reports_throughput_and_decode_share(batches, tmp_path):
    code, report, stderr = run_script(
        PYTHON, "loadtests/gpu_bench.py", "--dry-run", "--small", "--concurrency", "2",
        "--batches", *batches, "--seconds", "1", "--max-batch", "8", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, stderr[-3000:]
    assert json.loads((tmp_path / "gpu_bench.json").read_text()) == report  # --out: the same
    assert report["target"] == "cpu (dry run)"
    assert set(report["model_versions"]) == {"exact", "device"} and not report["interrupted"]
    assert [(p["preprocess"], p["batch"]) for p in report["points"]] == [
        ("exact", 1), ("exact", 2), ("device", 1), ("device", 2)
    ]  # fmt: skip
    assert set(report["best"]) == {"exact", "device"}
    for point in report["points"]:
        assert point["images_per_s"] > 0 and point["requests"] > 0
        assert point["gpu_utilisation_percent"] is None  # no nvidia-smi here
        assert 0.0 < point["decode_share"] < 1.0
        assert {"preprocess", "roi_crop", "global_backbone"} <= set(point["compute_shares"])
