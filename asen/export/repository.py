"""Write a complete, self-contained Triton model repository for one checkpoint.

Layout (ASEN++; a global-only model has no local_branch):
  asen/            ensemble: config.pbtxt (+ model version in its parameters), 1/export.json
  preprocess/      Python: decode, pixel limit, attribute-id check, global input
  global_backbone/ ONNX graph: image -> feature map, once per image
  global_head/     ONNX graph: feature map + K attribute ids -> K global embeddings + attention
  roi_crop/        Python: attention -> box -> crop of the original image -> local input, ROI
  local_branch/    ONNX graph: local input + ids + global embeddings -> fused EMBEDDING
The repository is built in a temporary sibling folder and moved into place only when complete.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from asen.checkpoint import LoadedCheckpoint
from asen.errors import AsenError
from asen.export import configs
from asen.export.onnx_graphs import OPSET, GraphCheck, check_graph, export_graph, graph_specs
from asen.export.runtime_copy import copy_runtime
from asen.export.settings import ExportSettings, model_version
from asen.export.sources import model_source

ENSEMBLE = "asen"
MANIFEST = "export.json"


@dataclass
class ExportResult:
    repository: Path
    model_version: str
    checks: list[GraphCheck]
    models: list[str]


def export_repository(
    checkpoint: LoadedCheckpoint,
    out: Path,
    settings: ExportSettings,
    progress: Callable[[str], None] = lambda message: None,
) -> ExportResult:
    out = Path(out)
    _check_destination(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    version = model_version(checkpoint.sha256, settings)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        checks, hw = _write_models(checkpoint, staging, settings, version, progress)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    models = sorted(p.name for p in out.iterdir() if (p / "config.pbtxt").is_file())
    return ExportResult(out, version, checks, models)


def _check_destination(out: Path) -> None:
    """Replace an earlier export, never an unrelated non-empty folder."""
    if out.exists() and not out.is_dir():
        raise AsenError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / ENSEMBLE / "config.pbtxt").is_file():
        raise AsenError(f"--out {out} is a non-empty folder that is not a model repository")


def _write_models(checkpoint, root: Path, settings, version: str, progress):
    model = checkpoint.model.eval()
    config = checkpoint.config
    checks = []
    for spec in graph_specs(model):
        graph = root / spec.name / "1" / "model.onnx"
        progress(f"exporting {spec.name} (ONNX opset {OPSET})")
        export_graph(model, spec, graph)
        check = check_graph(model, spec, graph)
        progress(f"checked {spec.name}: max relative error {check.max_relative_error:.2e}")
        checks.append(check)
        threads = 1 if spec.name == "global_head" else settings.cpu_threads
        _write(
            root / spec.name / "config.pbtxt",
            configs.branch_config(spec.name, graph, settings, threads),
        )
        if settings.target == "cpu":
            shutil.copy(model_source("onnx_runner"), graph.parent / "model.py")
            copy_runtime(graph.parent)
    with torch.no_grad():
        probe = model.backbone(torch.zeros(1, 3, config.global_size, config.global_size))
    hw = (int(probe.shape[2]), int(probe.shape[3]))
    for name in ("preprocess", "roi_crop"):
        version_dir = root / name / "1"
        version_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(model_source(name), version_dir / "model.py")
        copy_runtime(version_dir)
    _write(root / "preprocess" / "config.pbtxt", configs.preprocess_config(checkpoint, settings))
    _write(root / "roi_crop" / "config.pbtxt", configs.roi_crop_config(checkpoint, settings, hw))
    _write(
        root / ENSEMBLE / "config.pbtxt", configs.ensemble_config(checkpoint, settings, hw, version)
    )
    manifest = {
        "model_version": version,
        "checkpoint_sha256": checkpoint.sha256,
        "settings": asdict(settings),
        "opset": OPSET,
        "model_config": config.to_dict(),
        "checks": [asdict(c) for c in checks],
    }
    _write(root / ENSEMBLE / "1" / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return checks, hw


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
