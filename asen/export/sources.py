"""Where the Python-backend model sources and config templates live: `models_repo/`."""

from __future__ import annotations

from pathlib import Path

import asen
from asen.errors import AsenError


def models_repo_dir() -> Path:
    """`models_repo/` next to the `asen` package (the project is installed editable)."""
    path = Path(asen.__file__).resolve().parent.parent / "models_repo"
    if not (path / "templates").is_dir():
        raise AsenError(f"model repository sources not found at {path}")
    return path


def template(name: str) -> str:
    return (models_repo_dir() / "templates" / f"{name}.pbtxt").read_text()


def model_source(name: str) -> Path:
    """The `model.py` of a Python-backend model (preprocess, roi_crop, onnx_runner)."""
    return models_repo_dir() / name / "model.py"
