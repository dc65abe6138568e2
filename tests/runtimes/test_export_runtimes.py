"""`asen export --runtime openvino` and `--precision int8`, through the CLI (a child process:
OpenVINO never loads into pytest, see openvino_jobs) and, for OpenVINO, a real tritonserver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import tritonclient.grpc as grpcclient

from asen.checkpoint import load_checkpoint
from asen.inference import Embedder
from asen.runtimes.agreement import cosine
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.images import read_image_file
from asen_contract.tensors import EMBEDDING, ENSEMBLE, ROI

from ..factories import tiny_checkpoint, tiny_config
from ..triton_server.triton_support import ensemble_inputs


def asen(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "asen", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    config = tiny_config(6, global_size=96, local_size=48, threshold=0.5)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    return tiny_checkpoint(path, config, sharp_attention=True)


def test_openvino_repository_serves_what_the_in_process_embedder_computes(
    checkpoint, synthetic_images, tmp_path
):
    done = asen("export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "repo"),
                "--runtime", "openvino", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["runtime"] == "openvino"
    config = (tmp_path / "repo" / "global_backbone" / "config.pbtxt").read_text()
    assert 'key: "runtime"' in config and 'string_value: "openvino"' in config
    manifest = json.loads((tmp_path / "repo" / ENSEMBLE / "1" / "export.json").read_text())
    assert manifest["served_vs_float32_onnxruntime"]["parity"] is True
    embedder = Embedder(load_checkpoint(checkpoint))
    attributes = list(range(6))
    with TritonServer(tmp_path / "repo", *free_ports(3)) as server:
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for path in synthetic_images["test"][:4]:
            result = client.infer(ENSEMBLE, ensemble_inputs([path.read_bytes()], [attributes]))
            want = embedder.embed_image(read_image_file(path), attributes)
            assert cosine(result.as_numpy(EMBEDDING)[0], want.fused).min() >= 0.9999
            np.testing.assert_array_equal(result.as_numpy(ROI)[0], want.roi)


def test_int8_export_quantizes_the_backbones_and_reports_its_cost(
    checkpoint, synthetic_root, tmp_path
):
    done = asen("export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "int8"),
                "--precision", "int8", "--calibration-data", str(synthetic_root),
                "--calibration-images", "16", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "identical RoI boxes" in done.stderr  # the cost is printed
    root = tmp_path / "int8"

    def ops(name: str) -> list[str]:
        return [
            node.op_type for node in onnx.load(str(root / name / "1" / "model.onnx")).graph.node
        ]

    assert "QuantizeLinear" in ops("global_backbone") and "QuantizeLinear" in ops("local_branch")
    assert "QuantizeLinear" not in ops("global_head")  # the attention stays float32
    manifest = json.loads((root / ENSEMBLE / "1" / "export.json").read_text())
    agreement = manifest["served_vs_float32_onnxruntime"]
    assert agreement["parity"] is False and agreement["images"] > 0
    assert 0.9 < agreement["mean_cosine"] < 1.0
    assert manifest["settings"]["precision"] == "int8" and manifest["settings"]["calibration"]
    float32 = asen(
        "export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "f"), "--json"
    )
    assert json.loads(float32.stdout)["model_version"] != json.loads(done.stdout)["model_version"]


def test_openvino_single_model_layout_checks_parity_on_its_own_graphs(checkpoint, tmp_path):
    """The three graphs share one folder: the parity check's float32 copies must not collide."""
    out = tmp_path / "single"
    done = asen("export", "--checkpoint", str(checkpoint), "--out", str(out),
                "--runtime", "openvino", "--cpu-layout", "single", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["models"] == [ENSEMBLE]
    manifest = json.loads((out / ENSEMBLE / "1" / "export.json").read_text())
    assert manifest["served_vs_float32_onnxruntime"]["parity"] is True
    assert manifest["settings"]["cpu_layout"] == "single"
    graphs = sorted(p.name for p in (out / ENSEMBLE / "1").glob("*.onnx"))
    assert graphs == ["global_backbone.onnx", "global_head.onnx", "local_branch.onnx"]
    config = (out / ENSEMBLE / "config.pbtxt").read_text()
    assert 'string_value: "openvino"' in config and 'backend: "python"' in config


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--precision", "int8"], "--precision int8 needs --calibration-data"),
        (["--target", "gpu", "--runtime", "openvino"], "choices are for the cpu target"),
        (["--precision", "int8", "--calibration-images", "0", "--calibration-data", "x"],
         "--calibration-images must be at least 1"),
        (["--target", "gpu", "--gpu-preprocess", "device", "--cpu-preprocess", "fast"],
         "choose one"),
        (["--target", "gpu", "--cpu-layout", "single"], "single-model layout is for the cpu"),
    ],
)  # fmt: skip
def test_bad_runtime_choices_are_clear_errors(checkpoint, tmp_path, flags, message):
    done = asen("export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "r"), *flags)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "r").exists()
