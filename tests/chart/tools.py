"""Locate the real helm and promtool binaries the chart checks run (installed by `make tools`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HELM = REPO_ROOT / "tools" / "bin" / "helm"


def helm_path() -> Path:
    """The helm v3 binary under tools/bin; a missing one fails the test (never a silent skip)."""
    if not HELM.is_file():
        pytest.fail(f"{HELM.relative_to(REPO_ROOT)} is missing: run `make tools`")
    return HELM


def promtool_path() -> str:
    """promtool from PATH or Debian's location."""
    found = shutil.which("promtool") or (
        "/usr/bin/promtool" if Path("/usr/bin/promtool").is_file() else None
    )
    if found is None:
        pytest.fail("promtool is missing: run `make tools`")
    return found
