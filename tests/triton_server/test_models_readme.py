"""models_repo/README.md documents every model's tensors: check it against real exports."""

from __future__ import annotations

import re
from pathlib import Path

import onnx
import pytest
import torch
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from asen.checkpoint import load_checkpoint
from asen.export.sources import models_repo_dir

from .triton_support import export

_ONNX_TYPES = {"TYPE_FP32": onnx.TensorProto.FLOAT, "TYPE_INT32": onnx.TensorProto.INT32}
_HEADER = re.compile(r"^### `(\w+)`(.*)$")
_ROW = re.compile(r"^\| (input|output) \| (\w+) \| (TYPE_\w+) \| \[([^\]]*)\] \|$")


def documented() -> dict[tuple[str, bool], list[tuple[str, str, str, list[str]]]]:
    """(model, global_only variant) -> [(direction, name, dtype, shape symbols)]."""
    tables: dict = {}
    current = None
    for line in (models_repo_dir() / "README.md").read_text().splitlines():
        header = _HEADER.match(line)
        if header:
            current = (header.group(1), "global-only" in header.group(2))
            tables[current] = []
            continue
        row = _ROW.match(line)
        if row and current is not None:
            direction, name, dtype, shape = row.groups()
            tables[current].append((direction, name, dtype, [s.strip() for s in shape.split(",")]))
    return tables


def expected_table(tables, model: str, global_only: bool):
    return tables.get((model, global_only)) or tables[(model, False)]


def sizes(checkpoint) -> dict[str, int]:
    config = checkpoint.config
    with torch.no_grad():
        probe = checkpoint.model.backbone(torch.zeros(1, 3, config.global_size, config.global_size))
    channels, height, width = probe.shape[1:]
    return {
        "S": config.global_size,
        "L": config.local_size,
        "C": channels,
        "h": height,
        "w": width,
        "E": config.embed_size,
        "D": config.fused_size,
        "1": 1,
        "3": 3,
        "4": 4,
    }


def config_dims(symbols: list[str], values: dict[str, int]) -> list[int]:
    assert symbols[0] == "B"
    return [-1 if s == "K" else values[s] for s in symbols[1:]]


def onnx_dims(symbols: list[str], values: dict[str, int]) -> list:
    return [{"B": "batch", "K": "k"}.get(s, values.get(s)) for s in symbols]


@pytest.fixture(scope="module", params=["asen_pp", "global_only"])
def exported(request, small_checkpoint, global_only_checkpoint, tmp_path_factory):
    checkpoint = small_checkpoint if request.param == "asen_pp" else global_only_checkpoint
    repository = export(checkpoint, tmp_path_factory.mktemp("doc") / request.param)
    return load_checkpoint(checkpoint), repository


def test_every_model_is_documented_and_matches(exported):
    checkpoint, repository = exported
    tables = documented()
    values = sizes(checkpoint)
    global_only = not checkpoint.config.has_local
    models = sorted(p.name for p in repository.iterdir() if (p / "config.pbtxt").is_file())
    assert models == sorted(
        ["asen", "preprocess", "global_backbone", "global_head", "roi_crop"]
        + ([] if global_only else ["local_branch"])
    )
    for model in models:
        table = expected_table(tables, model, global_only)
        config = text_format.Parse(
            (repository / model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
        )
        assert config.max_batch_size > 0
        actual = [("input", t.name, t.data_type, list(t.dims)) for t in config.input]
        actual += [("output", t.name, t.data_type, list(t.dims)) for t in config.output]
        want = [
            (d, name, model_config_pb2.DataType.Value(dtype), config_dims(shape, values))
            for d, name, dtype, shape in table
        ]
        assert actual == want, model
        graph_path = repository / model / "1" / "model.onnx"
        if graph_path.is_file():
            check_graph(graph_path, table, values)


def check_graph(path: Path, table, values) -> None:
    graph = onnx.load(str(path)).graph
    initializers = {i.name for i in graph.initializer}

    def describe(value):
        tensor = value.type.tensor_type
        dims = [d.dim_param or d.dim_value for d in tensor.shape.dim]
        return value.name, tensor.elem_type, dims

    actual = [("input", *describe(v)) for v in graph.input if v.name not in initializers]
    actual += [("output", *describe(v)) for v in graph.output]
    want = [
        (d, name, _ONNX_TYPES[dtype], onnx_dims(shape, values)) for d, name, dtype, shape in table
    ]
    assert actual == want, path
