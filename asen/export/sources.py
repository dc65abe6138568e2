"""Where the Python-backend model sources live: `models_repo/` of the checkout."""

from __future__ import annotations

from pathlib import Path

import asen
from asen_contract.errors import ConfigError

PYTHON_MODELS = ("preprocess", "roi_crop", "onnx_runner", "single_model")


def models_repo_dir() -> Path:
    """`models_repo/` next to the `asen` package (the project is installed editable)."""
    path = Path(asen.__file__).resolve().parent.parent / "models_repo"
    if not all((path / name / "model.py").is_file() for name in PYTHON_MODELS):
        raise ConfigError(f"the Python-backend model sources are not at {path}")
    return path


def model_source(name: str) -> Path:
    """The `model.py` of a Python-backend model (`PYTHON_MODELS`)."""
    return models_repo_dir() / name / "model.py"
