"""Every `config.pbtxt` of the repository, built as Triton `ModelConfig` messages.

Tensors come from the contract's signatures (the ONNX graphs are checked against the same
signatures when exported), the served model's description from `ModelInfo`, and the rest
(backend, instances, batching, accelerators) from the export settings. Messages are written
with protobuf's text format, so a config is valid by construction.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from asen.export.settings import ExportSettings
from asen_contract import tensors as t
from asen_contract.model_info import ModelInfo
from asen_contract.tensors import Signature, TensorSpec

Config = mc.ModelConfig
_TENSORRT = {
    "max_workspace_size_bytes": str(2 << 30),
    "trt_engine_cache_enable": "true",
    "trt_engine_cache_path": "/tmp/asen-trt-cache",
}
# global_head computes the attention map that decides the RoI box: it never runs in FP16
# (docs/runtimes.md has the measured effect of FP16 per graph).
FLOAT32_ON_GPU = (t.GLOBAL_HEAD,)
# preprocess and roi_crop: "exact" (Pillow, numpy), "fast" (asen_contract.fast_preprocess) or
# "device" (asen_contract.resample on torch)
PREPROCESS_PARAMETER = "preprocess"


def branch_config(
    name: str, signature: Signature, settings: ExportSettings, threads: int, instances: int = 1
) -> Config:
    """An exported ONNX graph: onnxruntime in the Python backend (cpu), native + TensorRT (gpu)."""
    config = _base(name, signature, settings.max_batch, settings.queue_delay_us)
    if settings.target == "gpu":
        config.platform, config.backend = "onnxruntime_onnx", "onnxruntime"
        config.instance_group.add(count=1, kind=mc.ModelInstanceGroup.KIND_GPU)
        config.optimization.graph.level = 1
        accelerators = config.optimization.execution_accelerators
        precision = "FP32" if name in FLOAT32_ON_GPU else "FP16"
        parameters = {"precision_mode": precision, **_TENSORRT}
        accelerators.gpu_execution_accelerator.add(name="tensorrt", parameters=parameters)
        return config
    config.backend = "python"
    config.instance_group.add(count=instances, kind=mc.ModelInstanceGroup.KIND_CPU)
    _set_parameters(config, {"runtime": settings.runtime, "threads": str(threads)})
    return config


def preprocess_config(signature: Signature, info: ModelInfo, settings: ExportSettings) -> Config:
    """Decoding is CPU work, unless the gpu target decodes and resizes on the device."""
    on_gpu = settings.target == "gpu" and settings.gpu_preprocess == "device"
    config = _base(t.PREPROCESS, signature, settings.max_batch, queue_delay_us=0)
    config.backend = "python"
    kind = mc.ModelInstanceGroup.KIND_GPU if on_gpu else mc.ModelInstanceGroup.KIND_CPU
    config.instance_group.add(count=2, kind=kind)
    parameters = info.to_triton_parameters()
    parameters[PREPROCESS_PARAMETER] = settings.preprocess_mode
    _set_parameters(config, parameters)
    return config


def roi_crop_config(signature: Signature, info: ModelInfo, settings: ExportSettings) -> Config:
    """On the gpu target the attention map stays on the device (DLPack)."""
    on_gpu = settings.target == "gpu"
    config = _base(t.ROI_CROP, signature, settings.max_batch, queue_delay_us=0)
    config.backend = "python"
    kind = mc.ModelInstanceGroup.KIND_GPU if on_gpu else mc.ModelInstanceGroup.KIND_CPU
    count = 1 if on_gpu and settings.preprocess_mode != "device" else 2
    config.instance_group.add(count=count, kind=kind)
    parameters = info.to_triton_parameters()
    parameters["FORCE_CPU_ONLY_INPUT_TENSORS"] = "no" if on_gpu else "yes"
    parameters[PREPROCESS_PARAMETER] = settings.preprocess_mode
    _set_parameters(config, parameters)
    return config


def ensemble_config(
    signatures: dict[str, Signature], info: ModelInfo, settings: ExportSettings
) -> Config:
    """The public entry point: preprocess -> backbone -> head -> roi_crop (-> local branch)."""
    config = Config(name=t.ENSEMBLE, platform="ensemble", max_batch_size=settings.max_batch)
    _add_tensors(config, signatures[t.ENSEMBLE])
    has_local = t.LOCAL_BRANCH in signatures
    head_embedding = t.GLOBAL_EMBEDDING if has_local else t.EMBEDDING
    steps = [
        (
            t.PREPROCESS,
            {t.IMAGE: t.IMAGE, t.ATTRIBUTE: t.ATTRIBUTE},
            {t.GLOBAL_IMAGE: "global_image", t.ATTRIBUTE_IDS: "attribute_ids"},
        ),
        (t.GLOBAL_BACKBONE, {t.GLOBAL_IMAGE: "global_image"}, {t.FEATURES: "features"}),
        (
            t.GLOBAL_HEAD,
            {t.FEATURES: "features", t.ATTRIBUTE: "attribute_ids"},
            {
                head_embedding: "global_embedding" if has_local else t.EMBEDDING,
                t.ATTENTION: t.ATTENTION,
            },
        ),
        (
            t.ROI_CROP,
            {t.IMAGE: t.IMAGE, t.ATTENTION: t.ATTENTION},
            {t.ROI: t.ROI, **({t.LOCAL_IMAGE: "local_image"} if has_local else {})},
        ),
    ]
    if has_local:
        steps.append(
            (
                t.LOCAL_BRANCH,
                {
                    t.LOCAL_IMAGE: "local_image",
                    t.ATTRIBUTE: "attribute_ids",
                    t.GLOBAL_EMBEDDING: "global_embedding",
                },
                {t.EMBEDDING: t.EMBEDDING},
            )
        )
    for model, inputs, outputs in steps:
        config.ensemble_scheduling.step.add(
            model_name=model, model_version=-1, input_map=inputs, output_map=outputs
        )
    _set_parameters(config, info.to_triton_parameters())
    return config


# The single model's preferred batch: on a CPU the graphs gain nothing past about 4 images per
# call (the bare sweep, docs/runtimes.md), and a burst of requests split into batches of 4 keeps
# every instance busy instead of handing the whole burst to one of them.
SINGLE_MODEL_PREFERRED_BATCH = 4


def single_model_config(signature: Signature, info: ModelInfo, settings: ExportSettings) -> Config:
    """`--cpu-layout single`: the public entry point as one Python model doing every step."""
    config = _base(t.ENSEMBLE, signature, settings.max_batch, settings.queue_delay_us)
    preferred = min(SINGLE_MODEL_PREFERRED_BATCH, settings.max_batch)
    config.dynamic_batching.preferred_batch_size.append(preferred)
    config.backend = "python"
    config.instance_group.add(count=settings.cpu_instances, kind=mc.ModelInstanceGroup.KIND_CPU)
    parameters = info.to_triton_parameters()
    parameters.update(
        runtime=settings.runtime,
        threads=str(settings.cpu_threads),
        **{PREPROCESS_PARAMETER: settings.preprocess_mode},
    )
    _set_parameters(config, parameters)
    return config


def write_config(path: Path, config: Config, comment: str) -> None:
    """The config in protobuf text format, under a comment saying what the model is."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text_format.MessageToString(config))


def _base(name: str, signature: Signature, max_batch: int, queue_delay_us: int) -> Config:
    config = Config(name=name, max_batch_size=max_batch)
    _add_tensors(config, signature)
    config.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    return config


def _add_tensors(config: Config, signature: Signature) -> None:
    for spec in signature.inputs:
        config.input.add(**_tensor_fields(spec))
    for spec in signature.outputs:
        config.output.add(**_tensor_fields(spec))


def _tensor_fields(spec: TensorSpec) -> dict:
    return {"name": spec.name, "data_type": mc.DataType.Value(spec.dtype), "dims": spec.dims}


def _set_parameters(config: Config, parameters: dict[str, str]) -> None:
    for key, value in parameters.items():
        config.parameters[key].string_value = value
