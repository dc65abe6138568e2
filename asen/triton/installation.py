"""Where a `tritonserver` binary, its backends and its libraries are, and the environment it needs.

Two kinds: the standalone server shipped in the `nvidia-pytriton` wheel (staged into a cache
folder with the Python-backend stub for this interpreter), or an official installation given by
the path of its `bin/tritonserver`.

The wheel's Python-backend stub embeds an isolated interpreter (it ignores PYTHONPATH) that finds
its Python by looking up `python3` on PATH, like any embedded CPython. Putting this virtual
environment's `bin/` first on the server's PATH therefore makes the stubs run in this
environment (numpy, Pillow, onnxruntime, torch), the same mechanism as the Python backend's own
EXECUTION_ENV_PATH. The project's code reaches the stubs only through the model repository,
which carries the `asen_contract` package (see asen/export/repository.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from asen_contract.errors import ConfigError

_STUB = "triton_python_backend_stub"


@dataclass(frozen=True)
class Installation:
    binary: Path
    backend_directory: Path | None  # None: the binary's built-in default
    environment: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        command = [str(self.binary)]
        if self.backend_directory is not None:
            command.append(f"--backend-directory={self.backend_directory}")
        return command


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asen" / "tritonserver"


def wheel_installation() -> Installation:
    """Stage the wheel's server: bin/ and backends/python/ (with the stub) in a cache folder."""
    site = _site_packages()
    source = site / "pytriton" / "tritonserver"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = source / "python_backend_stubs" / python / _STUB
    libs = site / "nvidia_pytriton.libs"
    for needed in (source / "bin" / "tritonserver", source / "backends" / "python", stub, libs):
        if not needed.exists():
            raise ConfigError(
                f"{needed} is missing: install the nvidia-pytriton wheel in this environment "
                "(pip install nvidia-pytriton) or use an official Triton installation"
            )
    stage = _cache_root() / python
    backends = stage / "backends" / "python"
    backends.mkdir(parents=True, exist_ok=True)
    (stage / "bin").mkdir(exist_ok=True)
    _link(source / "bin" / "tritonserver", stage / "bin" / "tritonserver")
    for item in (source / "backends" / "python").iterdir():
        if item.is_file():
            _link(item, backends / item.name)
    _link(stub, backends / _STUB)
    library_path = [str(libs), str(source / "lib"), os.environ.get("LD_LIBRARY_PATH", "")]
    environment = {
        "LD_LIBRARY_PATH": os.pathsep.join(p for p in library_path if p),
        "PATH": os.pathsep.join(p for p in (_environment_bin(), os.environ.get("PATH", "")) if p),
    }
    return Installation(stage / "bin" / "tritonserver", stage / "backends", environment)


def _environment_bin() -> str:
    """This interpreter's `bin/` when it runs in a virtual environment (else nothing to add)."""
    if sys.prefix == sys.base_prefix:
        return ""
    return str(Path(sys.prefix) / "bin")


def official_installation(binary: Path) -> Installation:
    """An installation such as /opt/tritonserver: backends next to bin/, or the built-in default.

    Its Python-backend stub runs the installation's own Python, which must have the packages the
    Python models import (docker/requirements-triton.txt).
    """
    binary = Path(binary)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise ConfigError(f"{binary} is not an executable tritonserver")
    backends = binary.resolve().parent.parent / "backends"
    return Installation(binary, backends if backends.is_dir() else None, {})


def missing_libraries(binary: Path, environment: dict[str, str]) -> list[str]:
    """Shared libraries `ldd` cannot find for the binary (empty when ldd is unavailable)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    env = {**os.environ, **environment}
    result = subprocess.run([ldd, str(binary)], capture_output=True, text=True, env=env)
    return [line.split()[0] for line in result.stdout.splitlines() if "not found" in line]


def _link(source: Path, target: Path) -> None:
    """Symlink `target` -> `source`, replacing a stale link; safe when two launchers race."""
    if target.is_symlink() and target.resolve() == source.resolve():
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(source)
    temporary.replace(target)  # atomic rename over whatever was there
