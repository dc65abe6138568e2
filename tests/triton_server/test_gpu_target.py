"""The gpu target's configs, checked statically (no GPU here) against the exported graphs."""

from __future__ import annotations

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from .triton_support import export

Config = model_config_pb2.ModelConfig
Group = model_config_pb2.ModelInstanceGroup
_TYPES = {
    onnx.TensorProto.FLOAT: model_config_pb2.TYPE_FP32,
    onnx.TensorProto.INT32: model_config_pb2.TYPE_INT32,
}


def parse(path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), Config())


@pytest.fixture(scope="module")
def gpu_repository(small_checkpoint, tmp_path_factory):
    return export(small_checkpoint, tmp_path_factory.mktemp("repo") / "gpu", target="gpu")


@pytest.mark.parametrize(
    ("name", "precision"),
    [("global_backbone", "FP16"), ("global_head", "FP32"), ("local_branch", "FP16")],
)
def test_branches_run_on_onnxruntime_tensorrt(gpu_repository, name, precision):
    """TensorRT FP16 except global_head: its attention map decides the RoI box."""
    config = parse(gpu_repository / name / "config.pbtxt")
    assert config.platform == "onnxruntime_onnx" and config.backend == "onnxruntime"
    assert (gpu_repository / name / "1" / "model.onnx").is_file()
    assert not (gpu_repository / name / "1" / "model.py").exists()
    assert [g.kind for g in config.instance_group] == [Group.KIND_GPU]
    assert config.HasField("dynamic_batching") and config.max_batch_size > 0
    (accelerator,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt"
    assert accelerator.parameters["precision_mode"] == precision


@pytest.mark.parametrize("name", ["global_backbone", "global_head", "local_branch"])
def test_branch_tensors_match_graph(gpu_repository, name):
    config = parse(gpu_repository / name / "config.pbtxt")
    graph = onnx.load(str(gpu_repository / name / "1" / "model.onnx")).graph
    assert [t.name for t in config.input] == [v.name for v in graph.input]
    assert [t.name for t in config.output] == [v.name for v in graph.output]
    for tensor, value in zip(
        list(config.input) + list(config.output),
        list(graph.input) + list(graph.output),
        strict=True,
    ):
        dims = [d.dim_value or -1 for d in value.type.tensor_type.shape.dim]
        assert list(tensor.dims) == dims[1:], tensor.name  # the batch axis is implicit
        want = _TYPES[value.type.tensor_type.elem_type]
        assert tensor.data_type == want, tensor.name


def test_roi_crop_on_gpu_with_dlpack(gpu_repository):
    config = parse(gpu_repository / "roi_crop" / "config.pbtxt")
    assert config.backend == "python"
    assert [g.kind for g in config.instance_group] == [Group.KIND_GPU]
    assert config.parameters["FORCE_CPU_ONLY_INPUT_TENSORS"].string_value == "no"
    source = (gpu_repository / "roi_crop" / "1" / "model.py").read_text()
    assert "to_dlpack" in source and "from_dlpack" in source


def test_preprocess_decodes_on_cpu_and_ensemble_is_the_same(gpu_repository, small_repository):
    preprocess = parse(gpu_repository / "preprocess" / "config.pbtxt")
    assert [g.kind for g in preprocess.instance_group] == [Group.KIND_CPU]
    gpu, cpu = (parse(r / "asen" / "config.pbtxt") for r in (gpu_repository, small_repository))
    assert gpu.platform == "ensemble"
    assert gpu.input == cpu.input and gpu.output == cpu.output
    assert gpu.ensemble_scheduling == cpu.ensemble_scheduling
    assert gpu.parameters["model_version"].string_value.split("-")[2] == "gpu"
    assert gpu.parameters["model_version"] != cpu.parameters["model_version"]


@pytest.fixture(scope="module")
def device_repository(small_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("repo") / "gpu-device"
    return export(small_checkpoint, out, target="gpu", gpu_preprocess="device")


def test_device_preprocess_decodes_and_resizes_on_gpu(device_repository, gpu_repository):
    """`--gpu-preprocess device`: preprocess and roi_crop on GPU instances with the parameter
    their model.py reads; the graphs and the ensemble are unchanged; the version differs."""
    preprocess = parse(device_repository / "preprocess" / "config.pbtxt")
    roi_crop = parse(device_repository / "roi_crop" / "config.pbtxt")
    assert [(g.kind, g.count) for g in preprocess.instance_group] == [(Group.KIND_GPU, 2)]
    assert [(g.kind, g.count) for g in roi_crop.instance_group] == [(Group.KIND_GPU, 2)]
    for config in (preprocess, roi_crop):
        assert config.parameters["preprocess"].string_value == "device"
    exact = parse(gpu_repository / "preprocess" / "config.pbtxt")
    assert exact.parameters["preprocess"].string_value == "exact"
    for name in ("preprocess", "roi_crop"):
        source = (device_repository / name / "1" / "model.py").read_text()
        assert "DeviceDecoder" in source and "from_dlpack" in source
        copied = device_repository / name / "1" / "asen_contract"
        assert (copied / "resample.py").is_file() and (copied / "device_decode.py").is_file()
    device, exact_ensemble = (
        parse(r / "asen" / "config.pbtxt") for r in (device_repository, gpu_repository)
    )
    assert device.ensemble_scheduling == exact_ensemble.ensemble_scheduling
    version = device.parameters["model_version"].string_value
    assert version != exact_ensemble.parameters["model_version"].string_value
    assert version.split("-")[2] == "gpu"
