"""Copy the few project modules the Python-backend models import into the repository.

An exported repository is self-contained: each Python model's version folder gets a private
package `asen_runtime` (errors, preprocess, roi) copied from this checkout, with its
`from asen.X import` lines made relative. Triton puts the version folder on the model's path,
so the copy is used even where the `asen` package is not installed, and the served code is
exactly the code the repository was exported (and checked) with.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import asen
from asen.export.sources import models_repo_dir

RUNTIME_MODULES = ("errors", "preprocess", "roi")
PACKAGE = "asen_runtime"
_IMPORT = re.compile(r"^from asen\.(\w+) import", re.MULTILINE)


def copy_runtime(version_dir: Path) -> None:
    source = Path(asen.__file__).parent
    target = version_dir / PACKAGE
    target.mkdir(parents=True, exist_ok=True)
    (target / "__init__.py").write_text(
        '"""Copied from the asen package at export time; do not edit."""\n'
    )
    for name in RUNTIME_MODULES:
        text = (source / f"{name}.py").read_text()
        for imported in _IMPORT.findall(text):
            if imported not in RUNTIME_MODULES:
                raise RuntimeError(f"asen/{name}.py imports asen.{imported}: add it to the copy")
        (target / f"{name}.py").write_text(_IMPORT.sub(r"from .\1 import", text))
    shutil.copy(models_repo_dir() / "pythonpath.py", target / "pythonpath.py")
