"""helm/asen/README.md is generated from the documented values (scripts/chart_readme.py) and
must be up to date; every top-level section and every leaf the schema knows is documented."""

from __future__ import annotations

import subprocess
import sys

from .rendering import CHART_DIR
from .tools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "chart_readme.py"


def test_chart_readme_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_readme_documents_every_top_level_section() -> None:
    import yaml

    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    readme = (CHART_DIR / "README.md").read_text()
    for key in values:
        assert f"| `{key}` |" in readme, f"values.yaml: {key} has no `# --` description"


def test_check_notices_a_stale_readme(tmp_path, monkeypatch) -> None:
    """Guards the check: a README that differs from the generated one is reported."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import chart_readme
    finally:
        sys.path.remove(str(SCRIPT.parent))
    (tmp_path / "values.yaml").write_text("# -- A documented key.\nkey: 1\n")
    monkeypatch.setattr(chart_readme, "CHART", tmp_path)
    (tmp_path / "README.md").write_text("old\n")
    assert chart_readme.main(["--check"]) == 1
    assert chart_readme.main([]) == 0
    assert chart_readme.main(["--check"]) == 0
    assert "| `key` | int | `1` | A documented key. |" in (tmp_path / "README.md").read_text()
