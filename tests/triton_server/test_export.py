"""`asen export`: graphs checked on export, version string, destination safety, CLI."""

from __future__ import annotations

import json

import pytest
import torch

from asen.checkpoint import load_checkpoint
from asen.cli.main import main
from asen.errors import AsenError
from asen.export import onnx_graphs
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings, model_version

from .triton_support import export


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


def test_refuses_to_overwrite_an_unrelated_folder(small_checkpoint, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(AsenError, match="not a model repository"):
        export(small_checkpoint, tmp_path)


def test_runtime_copy_is_self_contained(small_repository):
    for model in ("preprocess", "roi_crop", "global_backbone"):
        runtime = small_repository / model / "1" / "asen_runtime"
        for module in runtime.glob("*.py"):
            assert "from asen." not in module.read_text(), module


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
