"""Render every `config.pbtxt` from the templates in `models_repo/templates`.

Branch tensors are read from the exported ONNX graphs, so a config cannot disagree with its
graph. Every rendered config is parsed with Triton's model-config protobuf before it is written.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from string import Template

import onnx
from google.protobuf import text_encoding, text_format
from tritonclient.grpc import model_config_pb2

from asen.checkpoint import LoadedCheckpoint
from asen.errors import AsenError
from asen.export.settings import ExportSettings
from asen.export.sources import template

_ONNX_TYPES = {
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.INT64: "TYPE_INT64",
}


def quoted(text: str) -> str:
    """A protobuf text-format string literal."""
    return '"' + text_encoding.CEscape(text, as_utf8=True) + '"'


def render(template_name: str, **values: object) -> str:
    text = Template(template(template_name)).substitute({k: str(v) for k, v in values.items()})
    parse(text, template_name)
    return text


def parse(text: str, source: str) -> model_config_pb2.ModelConfig:
    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as error:
        raise AsenError(
            f"rendered config {source} is not a valid Triton config: {error}"
        ) from error


def onnx_tensor_blocks(path: Path) -> tuple[str, str]:
    """(input block, output block) for a config, from the graph's signature minus the batch axis."""
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}

    def block(values) -> str:
        lines = []
        for value in values:
            tensor = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim][1:]
            lines.append(
                f'  {{ name: "{value.name}" data_type: {_ONNX_TYPES[tensor.elem_type]} '
                f"dims: [ {', '.join(str(d) for d in dims)} ] }}"
            )
        return ",\n".join(lines)

    inputs = [value for value in graph.input if value.name not in initializers]
    return block(inputs), block(graph.output)


def branch_config(name: str, graph: Path, settings: ExportSettings, threads: int) -> str:
    inputs, outputs = onnx_tensor_blocks(graph)
    return render(
        f"branch_{settings.target}",
        name=name,
        max_batch=settings.max_batch,
        inputs=inputs,
        outputs=outputs,
        instances=1,
        queue_delay_us=settings.queue_delay_us,
        intra_op_threads=threads,
        allow_spinning=0,
    )


def preprocess_config(checkpoint: LoadedCheckpoint, settings: ExportSettings) -> str:
    return render(
        "preprocess",
        max_batch=settings.max_batch,
        global_size=checkpoint.config.global_size,
        num_attributes=checkpoint.config.num_attributes,
        max_image_pixels=settings.max_image_pixels,
        instances=2,
        queue_delay_us=0,
    )


def roi_crop_config(
    checkpoint: LoadedCheckpoint, settings: ExportSettings, attention_hw: tuple[int, int]
) -> str:
    config = checkpoint.config
    local_output = ""
    if config.has_local:
        size = config.local_size
        local_output = (
            f',\n  {{ name: "LOCAL_IMAGE" data_type: TYPE_FP32 dims: [ -1, 3, {size}, {size} ] }}'
        )
    on_gpu = settings.target == "gpu"
    return render(
        "roi_crop",
        max_batch=settings.max_batch,
        attention_h=attention_hw[0],
        attention_w=attention_hw[1],
        local_output=local_output,
        instances=1 if on_gpu else 2,
        kind="KIND_GPU" if on_gpu else "KIND_CPU",
        queue_delay_us=0,
        global_size=config.global_size,
        local_size=config.local_size if config.has_local else 0,
        threshold=repr(config.threshold),
        max_image_pixels=settings.max_image_pixels,
        force_cpu_inputs="no" if on_gpu else "yes",
    )


def ensemble_config(
    checkpoint: LoadedCheckpoint,
    settings: ExportSettings,
    attention_hw: tuple[int, int],
    version: str,
) -> str:
    config = checkpoint.config
    has_local = config.has_local
    attributes = json.dumps([asdict(spec) for spec in checkpoint.attributes], ensure_ascii=False)
    return render(
        "ensemble",
        max_batch=settings.max_batch,
        embedding_dim=config.fused_size,
        attention_h=attention_hw[0],
        attention_w=attention_hw[1],
        head_embedding="GLOBAL_EMBEDDING" if has_local else "EMBEDDING",
        head_embedding_tensor="global_embedding" if has_local else "EMBEDDING",
        roi_local_output='output_map { key: "LOCAL_IMAGE" value: "local_image" }'
        if has_local
        else "",
        local_step=template("ensemble_local_step") if has_local else "",
        model_version=quoted(version),
        attributes=quoted(attributes),
        beta=quoted(repr(config.beta)),
        global_dim=quoted(str(config.embed_size)),
        embedding_dim_string=quoted(str(config.fused_size)),
        max_image_pixels=quoted(str(settings.max_image_pixels)),
    )
