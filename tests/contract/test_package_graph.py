"""Which first-party package may import which: the contract at the bottom, nothing imports up.

  asen_contract  <- asen (library, CLI), gateway, models_repo (Triton Python models)
  gateway        <- asen's CLI and client only (the serving commands compose the gateway)
The gateway image ships `gateway/` and `asen_contract/` only, so the gateway must never import
the training package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"asen", "asen_contract", "gateway"}
ALLOWED = {
    "asen_contract": {"asen_contract"},
    "gateway": {"gateway", "asen_contract"},
    "models_repo": {"asen_contract"},
    "asen": {"asen", "asen_contract", "gateway"},
}


def first_party_imports(folder: Path) -> dict[str, set[str]]:
    """Module file -> first-party top-level packages it imports (generated code skipped)."""
    found: dict[str, set[str]] = {}
    for source in folder.rglob("*.py"):
        if "generated" in source.parts:
            continue
        names = set()
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(source.relative_to(ROOT))] = names & FIRST_PARTY
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_point_down(package: str) -> None:
    imports = first_party_imports(ROOT / package)
    assert imports
    wrong = {path: sorted(names - ALLOWED[package]) for path, names in imports.items()}
    assert not {path: names for path, names in wrong.items() if names}


def test_asen_imports_the_gateway_only_from_its_serving_commands() -> None:
    users = sorted(
        p for p, names in first_party_imports(ROOT / "asen").items() if "gateway" in names
    )
    assert all(p.startswith(("asen/cli/", "asen/client/", "asen/demo/")) for p in users), users
