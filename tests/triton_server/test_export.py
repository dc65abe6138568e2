"""`asen export`: graphs checked on export, version string, destination safety, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2

import asen_contract
from asen.checkpoint import load_checkpoint
from asen.cli.main import main
from asen.export import onnx_graphs
from asen.export.onnx_graphs import model_geometry
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings, model_version
from asen_contract.errors import AsenError, ConfigError
from asen_contract.model_info import ModelInfo
from asen_contract.tensors import ENSEMBLE, signatures

from .triton_support import SMALL_PIXEL_LIMIT, export


def test_export_leaves_the_model_untouched(small_checkpoint, tmp_path):
    checkpoint = load_checkpoint(small_checkpoint)
    before = {k: v.clone() for k, v in checkpoint.model.state_dict().items()}
    result = export_repository(checkpoint, tmp_path / "repo", ExportSettings())
    after = checkpoint.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [c.name for c in result.checks] == ["global_backbone", "global_head", "local_branch"]
    assert all(c.max_relative_error < 1e-4 for c in result.checks)
    manifest = json.loads((tmp_path / "repo" / "asen" / "1" / "export.json").read_text())
    assert manifest["model_version"] == result.model_version


def test_export_fails_loudly_beyond_tolerance(small_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_graphs, "TOLERANCE", -1.0)
    with pytest.raises(AsenError, match="max relative error"):
        export(small_checkpoint, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()  # nothing half-written is left behind


def test_model_version_names_checkpoint_and_settings():
    sha = "ab" * 32
    cpu = model_version(sha, ExportSettings())
    assert cpu.startswith("ckpt-abababababab-cpu-")
    assert model_version(sha, ExportSettings()) == cpu
    assert model_version(sha, ExportSettings(max_image_pixels=10)) != cpu
    assert model_version(sha, ExportSettings(target="gpu")).split("-")[2] == "gpu"
    exact = model_version(sha, ExportSettings(target="gpu", gpu_preprocess="exact"))
    assert exact == model_version(sha, ExportSettings(target="gpu"))  # the default is unhashed
    assert model_version(sha, ExportSettings(target="gpu", gpu_preprocess="device")) != exact
    with pytest.raises(AsenError, match="unknown pre-processing"):
        ExportSettings(gpu_preprocess="fast")
    # the fast CPU pre-processing changes embeddings: its own version (exact: unhashed default)
    assert model_version(sha, ExportSettings(cpu_preprocess="exact")) == cpu
    assert model_version(sha, ExportSettings(cpu_preprocess="fast")) != cpu
    assert ExportSettings(cpu_preprocess="fast").preprocess_mode == "fast"
    assert ExportSettings(target="gpu", gpu_preprocess="device").preprocess_mode == "device"
    with pytest.raises(AsenError, match="unknown CPU pre-processing"):
        ExportSettings(cpu_preprocess="device")
    with pytest.raises(AsenError, match="choose one"):
        ExportSettings(target="gpu", cpu_preprocess="fast", gpu_preprocess="device")
    # the single-model layout computes the ensemble's embeddings: same version, same cache keys
    assert model_version(sha, ExportSettings(cpu_layout="single")) == cpu
    with pytest.raises(AsenError, match="unknown CPU layout"):
        ExportSettings(cpu_layout="fused")
    with pytest.raises(AsenError, match="for the cpu target"):
        ExportSettings(target="gpu", cpu_layout="single")
    # how many processes run a graph changes no embedding: same version, same cache keys
    assert model_version(sha, ExportSettings(cpu_instances=2)) == cpu
    with pytest.raises(AsenError, match="instance count"):
        ExportSettings(cpu_instances=0)


def test_cpu_instances_multiply_the_heavy_branches_only(small_checkpoint, tmp_path):
    repository = export(small_checkpoint, tmp_path / "repo", cpu_instances=2, cpu_threads=1)
    counts = {}
    for name in ("global_backbone", "global_head", "local_branch", "preprocess", "roi_crop"):
        text = (repository / name / "config.pbtxt").read_text()
        config = text_format.Parse(text, model_config_pb2.ModelConfig())
        counts[name] = [(g.count, g.kind) for g in config.instance_group]
        if name.startswith(("global", "local")):
            assert config.parameters["threads"].string_value == "1"
    cpu = model_config_pb2.ModelInstanceGroup.KIND_CPU
    assert counts == {
        "global_backbone": [(2, cpu)],
        "global_head": [(1, cpu)],  # tiny: one instance keeps its batches larger
        "local_branch": [(2, cpu)],
        "preprocess": [(2, cpu)],
        "roi_crop": [(2, cpu)],
    }


def test_refuses_to_overwrite_an_unrelated_folder(small_checkpoint, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(AsenError, match="not a model repository"):
        export(small_checkpoint, tmp_path)


def test_python_models_carry_the_contract_unchanged(small_repository):
    source = Path(asen_contract.__file__).parent
    modules = sorted(p.name for p in source.glob("*.py"))
    for model in ("preprocess", "roi_crop"):
        copy = small_repository / model / "1" / "asen_contract"
        assert sorted(p.name for p in copy.glob("*.py")) == modules
        for name in modules:
            assert (copy / name).read_bytes() == (source / name).read_bytes(), (model, name)
    for model in ("global_backbone", "global_head", "local_branch"):
        assert not (small_repository / model / "1" / "asen_contract").exists()


def test_configs_are_protobuf_text_with_the_contract_s_tensors(small_checkpoint, small_repository):
    checkpoint = load_checkpoint(small_checkpoint)
    expected = signatures(model_geometry(checkpoint.model))
    for name, signature in expected.items():
        text = (small_repository / name / "config.pbtxt").read_text()
        assert text.startswith("# ")  # says what the model is
        config = text_format.Parse(text, model_config_pb2.ModelConfig())
        assert config.name == name
        assert _described(config.input) == [(s.name, s.dtype, s.dims) for s in signature.inputs]
        assert _described(config.output) == [(s.name, s.dtype, s.dims) for s in signature.outputs]
    ensemble = text_format.Parse(
        (small_repository / ENSEMBLE / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    info = ModelInfo.from_triton_config(_as_dict(ensemble))
    assert info.image_limits.max_pixels == SMALL_PIXEL_LIMIT
    assert (info.global_size, info.local_size) == (96, 48)
    assert info.threshold == checkpoint.config.threshold
    for model in ("preprocess", "roi_crop"):
        config = text_format.Parse(
            (small_repository / model / "config.pbtxt").read_text(),
            model_config_pb2.ModelConfig(),
        )
        assert ModelInfo.from_triton_config(_as_dict(config)) == info


def _described(tensors) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(t.name, model_config_pb2.DataType.Name(t.data_type), tuple(t.dims)) for t in tensors]


def _as_dict(config: model_config_pb2.ModelConfig) -> dict:
    """The config as tritonclient's get_model_config(as_json=True) returns it."""
    return json_format.MessageToDict(config, preserving_proto_field_name=True)


def test_export_settings_errors_are_config_errors_without_flag_names():
    with pytest.raises(ConfigError, match="max batch size must be at least 1") as caught:
        ExportSettings(max_batch=0)
    assert "--" not in str(caught.value)
    with pytest.raises(ConfigError, match="aspect ratio limit"):
        ExportSettings(max_aspect_ratio=0.5)


def test_cli_export_json_and_errors(small_checkpoint, tmp_path, capsys):
    out = tmp_path / "repo"
    code = main(["export", "--checkpoint", str(small_checkpoint), "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["models"] == sorted(summary["models"]) and "asen" in summary["models"]
    assert summary["model_version"].startswith("ckpt-")
    assert main(["export", "--checkpoint", str(tmp_path / "nope.pt"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    args = ["export", "--checkpoint", str(small_checkpoint), "--out", str(out), "--max-batch", "0"]
    assert main(args) == 2
