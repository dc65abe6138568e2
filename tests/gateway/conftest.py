"""Fixtures of the gateway tests: a real redis-server, test certificates, an exported model."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from asen.checkpoint import AttributeSpec, load_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings

from ..factories import tiny_checkpoint, tiny_config
from .gw_support import ExportedModel, RedisProcess


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, via openssl;
    plus a second, untrusted CA with its own client certificate."""
    directory = tmp_path_factory.mktemp("certs")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for ca in ("ca", "rogue_ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key",
            "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN=test {ca}")  # fmt: skip
    (directory / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, ca, ext in (
        ("server", "ca", ["-extfile", "server.ext"]),
        ("client", "ca", []),
        ("rogue_client", "rogue_ca", []),
    ):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *ext)  # fmt: skip
    return {p.stem if p.suffix == ".pem" else p.name: p for p in directory.iterdir()}


@pytest.fixture(scope="session")
def exported_model(tmp_path_factory: pytest.TempPathFactory) -> ExportedModel:
    """A small untrained ASEN++ (tiny backbones, both branches) exported for the cpu target."""
    directory = tmp_path_factory.mktemp("gateway-model")
    attributes = [
        AttributeSpec("collar_design", 3, ["round", "v_neck", "peter_pan"]),
        AttributeSpec("sleeve_length", 2, None),
        AttributeSpec("lapel_design", 4, None),
    ]
    config = tiny_config(3, global_size=224, local_size=112)
    checkpoint = tiny_checkpoint(directory / "tiny.pt", config, attributes)
    repository = directory / "repository"
    export_repository(
        load_checkpoint(checkpoint), repository, ExportSettings(target="cpu", max_batch=8)
    )
    return ExportedModel(checkpoint, repository, tuple(spec.name for spec in attributes))
