"""Static checks of the Dockerfiles (no Docker engine can run here): pinned bases, non-root
users, the commands and ports the chart relies on, and requirements that cover the gateway's
imports."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .tools import REPO_ROOT

DOCKER_DIR = REPO_ROOT / "docker"
GATEWAY = DOCKER_DIR / "Dockerfile.gateway"
TRITON = DOCKER_DIR / "Dockerfile.triton"
# Top-level module -> distribution, for the third-party imports of gateway/.
DISTRIBUTION_OF = {
    "grpc": "grpcio",
    "grpc_health": "grpcio-health-checking",
    "grpc_reflection": "grpcio-reflection",
    "google": "protobuf",
    "tritonclient": "tritonclient",
    "redis": "redis",
    "prometheus_client": "prometheus-client",
    "kubernetes": "kubernetes",
    "numpy": "numpy",
    "PIL": "pillow",
    "pymilvus": "pymilvus",
    "cryptography": "cryptography",
    "uvloop": "uvloop",
}
FIRST_PARTY = {"asen_contract", "gateway"}  # the gateway image holds no training code


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def base_images(path: Path) -> list[str]:
    """FROM images with ARG defaults substituted (stage names resolved away)."""
    args, stages, images = {}, set(), []
    for keyword, rest in instructions(path):
        if keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            if image not in stages:
                images.append(image)
            if len(parts) == 3 and parts[1].upper() == "AS":
                stages.add(parts[2])
    return images


def final_user(path: Path) -> str:
    users = [rest for keyword, rest in instructions(path) if keyword == "USER"]
    assert users, f"{path.name} sets no USER"
    return users[-1]


def requirement_names(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


@pytest.mark.parametrize("dockerfile", [GATEWAY, TRITON], ids=lambda p: p.name)
def test_base_images_are_pinned(dockerfile: Path) -> None:
    images = base_images(dockerfile)
    assert images
    for image in images:
        _, _, tag = image.rpartition(":")
        assert tag and "/" not in tag, f"{image} has no tag"
        assert tag != "latest"


@pytest.mark.parametrize("dockerfile", [GATEWAY, TRITON], ids=lambda p: p.name)
def test_final_stage_runs_as_non_root(dockerfile: Path) -> None:
    user = final_user(dockerfile).split(":")[0]
    assert user not in {"root", "0"}


def test_triton_image_extends_the_official_one() -> None:
    (image,) = base_images(TRITON)
    assert re.fullmatch(r"nvcr\.io/nvidia/tritonserver:\d{2}\.\d{2}-py3", image), image
    exposed = [rest for keyword, rest in instructions(TRITON) if keyword == "EXPOSE"]
    assert exposed == ["8000 8001 8002"]
    assert "python3 -m pip install -r /tmp/requirements-triton.txt" in TRITON.read_text()
    assert {"numpy", "pillow", "torch", "onnxruntime"} <= set(
        requirement_names(DOCKER_DIR / "requirements-triton.txt")
    )


def test_gateway_image_starts_the_gateway_module() -> None:
    commands = [rest for keyword, rest in instructions(GATEWAY) if keyword == "CMD"]
    assert commands[-1] == '["python", "-m", "gateway"]'
    exposed = [rest for keyword, rest in instructions(GATEWAY) if keyword == "EXPOSE"]
    assert exposed == ["50051 9095"]
    assert final_user(GATEWAY) == "10001:10001", "matches the chart's gateway runAsUser"
    # the gateway binds loopback by default; in a pod it must listen on the pod's address
    assert {"ASEN_GRPC_HOST=0.0.0.0", "ASEN_METRICS_HOST=0.0.0.0"} <= set(
        " ".join(rest for keyword, rest in instructions(GATEWAY) if keyword == "ENV").split()
    )


@pytest.mark.parametrize("name", ["requirements-gateway.txt", "requirements-triton.txt"])
def test_requirements_are_pinned(name: str) -> None:
    pins = requirement_names(DOCKER_DIR / name)
    assert pins and all(pins.values()), f"unpinned in {name}: {pins}"


def gateway_imports() -> set[str]:
    """Top-level packages imported by gateway/ (its generated code aside)."""
    imported = set()
    for source in (REPO_ROOT / "gateway").rglob("*.py"):
        if "generated" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    return imported


def test_gateway_image_holds_its_first_party_packages() -> None:
    """The gateway needs the contract package, not the training library (no torch)."""
    first_party = gateway_imports() & FIRST_PARTY
    assert first_party == {"asen_contract", "gateway"}
    copied = {
        rest.split()[0].rstrip("/")
        for keyword, rest in instructions(GATEWAY)
        if keyword == "COPY" and not rest.startswith("--from")
    }
    assert first_party <= copied


def test_gateway_requirements_cover_its_imports() -> None:
    imported = gateway_imports()
    third_party = imported - FIRST_PARTY - set(sys.stdlib_module_names) - {"__future__"}
    unknown = third_party - set(DISTRIBUTION_OF)
    assert not unknown, f"gateway imports {unknown}: add them to requirements-gateway.txt"
    pins = requirement_names(DOCKER_DIR / "requirements-gateway.txt")
    missing = {DISTRIBUTION_OF[module] for module in third_party} - set(pins)
    assert not missing, f"requirements-gateway.txt lacks {missing}"


def test_copied_paths_exist_and_pass_dockerignore() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for dockerfile in (GATEWAY, TRITON):
        for keyword, rest in instructions(dockerfile):
            if keyword != "COPY" or rest.startswith("--from"):
                continue
            source = rest.split()[0].rstrip("/")
            assert (REPO_ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"
            assert any(
                source == entry or source.startswith(entry + "/") or Path(source).match(entry)
                for entry in allowed
            ), f"{source} is excluded by .dockerignore"


def image_app_paths(dockerfile: Path) -> list[str]:
    """Repository paths the final stage copies under /app (from the build stage's /src)."""
    paths = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "COPY" and rest.startswith("--from="):
            source, target = rest.split()[1:3]
            if source.startswith("/src/") and target.startswith("/app/"):
                assert source.removeprefix("/src/") == target.removeprefix("/app/")
                paths.append(source.removeprefix("/src/").rstrip("/"))
    return paths


# Every module of the gateway package, imported the way the image runs it.
_IMPORT_ALL = """
import importlib, json, pathlib, sys
for path in sorted(pathlib.Path("gateway").rglob("*.py")):
    importlib.import_module(".".join(path.with_suffix("").parts).removesuffix(".__init__"))
site = sys.argv[1]
print(json.dumps(sorted({
    name.split(".")[0] for name, module in list(sys.modules.items())
    if (getattr(module, "__file__", None) or "").startswith(site)
})))
"""


def test_gateway_image_holds_every_module_the_gateway_imports(tmp_path: Path) -> None:
    """Lay out /app as the image does (only the copied folders), import every gateway module
    with site-packages but without the editable install of this checkout, and compare the
    third-party packages loaded with the pinned requirements. A first-party package the image
    lacks (say a new top-level package imported through asen.errors) fails here."""
    for path in image_app_paths(GATEWAY):
        shutil.copytree(
            REPO_ROOT / path, tmp_path / path, ignore=shutil.ignore_patterns("__pycache__")
        )
    assert (tmp_path / "gateway" / "generated").is_dir(), "run `make proto` first"
    site = sysconfig.get_paths()["purelib"]
    script = f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {site!r}]\n" + _IMPORT_ALL
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, site],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    pins = requirement_names(DOCKER_DIR / "requirements-gateway.txt")
    direct = {module for module in loaded if module in DISTRIBUTION_OF}
    assert {DISTRIBUTION_OF[m] for m in direct} - set(pins) == set()
