"""Write a complete, self-contained Triton model repository for one checkpoint.

Layout (ASEN++; a global-only model has no local_branch):
  asen/            ensemble: config.pbtxt (+ the served model's description), 1/export.json
  preprocess/      Python: decode, image limits, attribute-id check, global input
  global_backbone/ ONNX graph: image -> feature map, once per image
  global_head/     ONNX graph: feature map + K attribute ids -> K global embeddings + attention
  roi_crop/        Python: attention -> box -> crop of the original image -> local input, ROI
  local_branch/    ONNX graph: local input + ids + global embeddings -> fused EMBEDDING
With `--cpu-layout single` (cpu target) the repository holds one Python model instead, `asen/`,
whose version folder carries the three graphs (`<graph>.onnx`) and does every step itself.
The Python models' version folders carry an unchanged copy of the `asen_contract` package
(Triton puts a Python model's version folder on its import path), so the served pre-processing
is the code the repository was exported with, whatever is installed in the Triton image.
The repository is built in a temporary sibling folder and moved into place only when complete.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import asen_contract
from asen.checkpoint import LoadedCheckpoint
from asen.export import configs
from asen.export.onnx_graphs import (
    OPSET,
    GraphCheck,
    check_graph,
    export_graph,
    graph_specs,
    model_geometry,
)
from asen.export.precision import apply_precision, calibration_digest
from asen.export.settings import ExportSettings, model_version
from asen.export.sources import model_source
from asen.runtimes import sessions as runtimes_sessions
from asen_contract import tensors as t
from asen_contract.errors import ConfigError
from asen_contract.model_info import AttributeSpec, ModelInfo
from asen_contract.tensors import Geometry, signatures

MANIFEST = "export.json"
_COMMENTS = {
    t.ENSEMBLE: "The public entry point: one row = one image (IMAGE) and its attribute ids.",
    t.PREPROCESS: "Decode + image limits + attribute-id check + global input (Python, CPU).",
    t.GLOBAL_BACKBONE: "The attribute-independent global backbone: once per image.",
    t.GLOBAL_HEAD: "The global attention head: K attribute ids per image.",
    t.ROI_CROP: "Attention -> box -> crop of the original image -> local input (Python).",
    t.LOCAL_BRANCH: "The local branch and the fusion of the two embeddings.",
}


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
    calibration: Sequence[Path] = (),
    held_out: Sequence[Path] = (),
) -> ExportResult:
    """`calibration`: images for INT8 (required then); `held_out`: images the served runtime
    and precision are compared on against float32 onnxruntime (drawn garments if empty)."""
    out = Path(out)
    _check_destination(out)
    if settings.precision == "int8":
        if not calibration:
            raise ConfigError("INT8 needs calibration images (a data set's training images)")
        settings = replace(settings, calibration=calibration_digest(calibration))
    out.parent.mkdir(parents=True, exist_ok=True)
    version = model_version(checkpoint.sha256, settings)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    images = (list(calibration), list(held_out))
    try:
        checks = _write_models(checkpoint, staging, settings, version, progress, images)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    models = sorted(p.name for p in out.iterdir() if (p / "config.pbtxt").is_file())
    return ExportResult(out, version, checks, models)


def served_model_info(
    checkpoint: LoadedCheckpoint, settings: ExportSettings, geometry: Geometry, version: str
) -> ModelInfo:
    """The description every config of the repository carries (see asen_contract.model_info)."""
    config = checkpoint.config
    attributes = tuple(
        AttributeSpec(
            index,
            spec.name,
            spec.num_values,
            tuple(spec.value_names or ()),
            tuple(spec.aliases or ()),
        )
        for index, spec in enumerate(checkpoint.attributes)
    )
    return ModelInfo(
        model_version=version,
        attributes=attributes,
        beta=config.beta,
        global_dim=geometry.embed_size,
        embedding_dim=geometry.embedding_dim,
        max_image_pixels=settings.max_image_pixels,
        max_batch_size=settings.max_batch,
        max_aspect_ratio=settings.max_aspect_ratio,
        global_size=geometry.global_size,
        local_size=geometry.local_size,
        threshold=config.threshold,
    )


def _check_destination(out: Path) -> None:
    """Replace an earlier export, never an unrelated non-empty folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / t.ENSEMBLE / "config.pbtxt").is_file():
        raise ConfigError(f"{out} is a non-empty folder that is not a model repository")


def _write_models(
    checkpoint, root: Path, settings, version: str, progress, images
) -> list[GraphCheck]:
    model = checkpoint.model.eval()
    geometry = model_geometry(model)
    info = served_model_info(checkpoint, settings, geometry, version)
    signature = signatures(geometry)
    single = settings.cpu_layout == "single"
    checks, graphs = [], {}
    for spec in graph_specs(model, geometry):
        if single:
            graph = graphs[spec.name] = root / t.ENSEMBLE / "1" / f"{spec.name}.onnx"
        else:
            graph = graphs[spec.name] = root / spec.name / "1" / "model.onnx"
        progress(f"exporting {spec.name} (ONNX opset {OPSET})")
        export_graph(model, spec, graph)
        check = check_graph(model, spec, graph)
        progress(f"checked {spec.name}: max relative error {check.max_relative_error:.2e}")
        checks.append(check)
        if not single:
            _write_branch(root, spec, graph, settings)
    agreement = apply_precision(graphs, checkpoint.config, settings, *images, progress)
    if single:
        version_dir = root / t.ENSEMBLE / "1"
        shutil.copy(model_source("single_model"), version_dir / "model.py")
        shutil.copy(runtimes_sessions.__file__, version_dir / "graph_sessions.py")
        _copy_contract(version_dir)
        _write(root, configs.single_model_config(signature[t.ENSEMBLE], info, settings))
    else:
        for name in (t.PREPROCESS, t.ROI_CROP):
            version_dir = root / name / "1"
            version_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(model_source(name), version_dir / "model.py")
            _copy_contract(version_dir)
        _write(root, configs.preprocess_config(signature[t.PREPROCESS], info, settings))
        _write(root, configs.roi_crop_config(signature[t.ROI_CROP], info, settings))
        _write(root, configs.ensemble_config(signature, info, settings))
    manifest = {
        "model_version": version,
        "checkpoint_sha256": checkpoint.sha256,
        "settings": asdict(settings),
        "opset": OPSET,
        "model_config": checkpoint.config.to_dict(),
        "checks": [asdict(c) for c in checks],
        **({"served_vs_float32_onnxruntime": agreement} if agreement else {}),
    }
    manifest_path = root / t.ENSEMBLE / "1" / MANIFEST
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return checks


def _write_branch(root: Path, spec, graph: Path, settings: ExportSettings) -> None:
    """A graph as its own model: onnx_runner on the cpu target, Triton's onnxruntime on the gpu."""
    head = spec.name == t.GLOBAL_HEAD
    threads = 1 if head else settings.cpu_threads
    instances = 1 if head else settings.cpu_instances
    _write(root, configs.branch_config(spec.name, spec.signature, settings, threads, instances))
    if settings.target == "cpu":
        shutil.copy(model_source("onnx_runner"), graph.parent / "model.py")
        shutil.copy(runtimes_sessions.__file__, graph.parent / "graph_sessions.py")


def _write(root: Path, config: configs.Config) -> None:
    configs.write_config(root / config.name / "config.pbtxt", config, _COMMENTS[config.name])


def _copy_contract(version_dir: Path) -> None:
    """The contract package, unchanged, where Triton's Python backend imports it from."""
    source = Path(asen_contract.__file__).resolve().parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source, version_dir / "asen_contract", ignore=ignore)
