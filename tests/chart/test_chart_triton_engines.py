"""The Triton pods keep onnxruntime's TensorRT engine cache on a volume, at the very path the
exported gpu-target configs name, so a new or restarted pod loads engines instead of building
them for minutes."""

from __future__ import annotations

from asen.export.configs import branch_config
from asen.export.settings import ExportSettings
from asen_contract.tensors import Signature

from .rendering import EXAMPLES_DIR, Case, of_kind, render


def exported_cache_path() -> str:
    """trt_engine_cache_path of a branch config as `asen export --target gpu` builds it."""
    config = branch_config("branch", Signature((), ()), ExportSettings(target="gpu"), threads=1)
    (tensorrt,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert tensorrt.name == "tensorrt"
    return tensorrt.parameters["trt_engine_cache_path"]


def triton_pod(case: Case) -> dict:
    (deployment,) = [
        d
        for d in of_kind(render(case), "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "triton"
    ]
    return deployment["spec"]["template"]["spec"]


def cache_mount(pod: dict) -> dict | None:
    mounts = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "trt-engine-cache"]
    return mounts[0] if mounts else None


def cache_volume(pod: dict) -> dict:
    (volume,) = [v for v in pod["volumes"] if v["name"] == "trt-engine-cache"]
    return volume


def test_gpu_pods_mount_the_cache_where_the_exported_configs_write_engines() -> None:
    pod = triton_pod(Case("defaults", None, False))
    assert cache_mount(pod)["mountPath"] == exported_cache_path()
    assert cache_volume(pod)["emptyDir"]["sizeLimit"]  # survives container restarts


def test_production_example_keeps_engines_on_a_claim_per_tensorrt_version() -> None:
    pod = triton_pod(Case("gpu-production", EXAMPLES_DIR / "gpu-production.yaml", False))
    mount = cache_mount(pod)
    assert mount["mountPath"] == exported_cache_path()
    assert mount["subPath"] == "24.10"
    assert "readOnly" not in mount, "Triton writes the engines it builds"
    claim = cache_volume(pod)["persistentVolumeClaim"]
    assert claim == {"claimName": "asen-trt-engines"}


def test_cpu_pods_build_no_engines_and_mount_no_cache() -> None:
    pod = triton_pod(Case("cpu-only", EXAMPLES_DIR / "cpu-only.yaml", False))
    assert cache_mount(pod) is None
    assert all(v["name"] != "trt-engine-cache" for v in pod["volumes"])
