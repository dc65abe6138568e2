"""Liveness and readiness of a real `python -m gateway` process, asked through the real gRPC
health service and through `python -m gateway.probe` (the chart's exec probe), over plaintext,
TLS and mutual TLS.

Liveness must not depend on Triton: a gateway whose Triton is down or still loading is alive
(the kubelet must not restart it) but not ready (no traffic is sent to it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from gateway.api.auth import hash_key
from gateway.config import GatewayConfig
from gateway.health import GatewayHealth

from .gw_support import GatewayProcess, free_port, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
READINESS_NAMES = ("", "asen.v1.FashionSimilarity")


def statuses(address: str) -> dict[str, str]:
    """Health status of each service name, asked over plaintext."""
    answers = {}
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("liveness", *READINESS_NAMES):
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            answers[service] = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return answers


def run_probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m gateway.probe ARGS` with exactly `env` (as the kubelet's exec would)."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.probe", *args],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def pod_env(gateway: GatewayProcess) -> dict[str, str]:
    """The variables of the gateway container that the exec probe inherits."""
    names = ("ASEN_GRPC_PORT", "ASEN_TLS_CERT", "ASEN_TLS_KEY", "ASEN_TLS_CLIENT_CA")
    return {name: gateway.env[name] for name in names if name in gateway.env}


def dead_triton() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def gateway_without_triton(tmp_path) -> GatewayProcess:
    gateway = GatewayProcess({"ASEN_TRITON_URLS": dead_triton()}, tmp_path / "gateway.log")
    gateway.start(until="NOT_SERVING")
    yield gateway
    gateway.stop()


def test_probe_reads_the_gateway_variables() -> None:
    """The exec probe reads the gateway's own variables; they must exist in GatewayConfig."""
    from dataclasses import fields

    known = {f.metadata["env"] for f in fields(GatewayConfig)}
    assert {"ASEN_GRPC_PORT", "ASEN_TLS_CERT", "ASEN_TLS_KEY", "ASEN_TLS_CLIENT_CA"} <= known


def test_liveness_is_serving_while_triton_is_down(gateway_without_triton) -> None:
    gateway = gateway_without_triton
    assert statuses(gateway.address) == {
        "liveness": "SERVING",
        "": "NOT_SERVING",
        "asen.v1.FashionSimilarity": "NOT_SERVING",
    }
    alive = run_probe("liveness", env=pod_env(gateway))
    assert alive.returncode == 0, alive.stdout + alive.stderr
    assert "liveness: SERVING" in alive.stdout
    ready = run_probe("readiness", "--json", env=pod_env(gateway))
    assert ready.returncode == 1, ready.stdout + ready.stderr
    assert json.loads(ready.stdout) | {"address": None} == {
        "check": "readiness",
        "address": None,
        "tls": False,
        "ok": False,
        "status": "NOT_SERVING",
    }


def test_probe_fails_when_nothing_answers() -> None:
    result = run_probe("liveness", "--timeout", "1", env={"ASEN_GRPC_PORT": str(free_port())})
    assert result.returncode == 1
    assert "liveness: UNREACHABLE" in result.stdout


def test_readiness_follows_triton_and_liveness_never_does(exported_model, tmp_path) -> None:
    http, grpc_port, metrics = free_ports(3)
    triton = TritonServer(
        exported_model.repository, http, grpc_port, metrics, log_path=tmp_path / "triton.log"
    )
    triton.start(timeout=300)
    keys = tmp_path / "keys"
    keys.write_text(f"{hash_key('probe-key')} helm-test\n")
    (tmp_path / "key").write_text("probe-key\n")
    gateway = GatewayProcess(
        {"ASEN_TRITON_URLS": triton.grpc_url, "ASEN_API_KEYS_FILE": str(keys)},
        tmp_path / "gateway.log",
    )
    try:
        gateway.start()
        assert set(statuses(gateway.address).values()) == {"SERVING"}
        assert run_probe("readiness", env=pod_env(gateway)).returncode == 0
        # the helm test: health and ListAttributes through the gateway, with an API key
        listed = run_probe(
            "readiness", "--address", gateway.address, "--list-attributes", "--json",
            "--api-key-file", str(tmp_path / "key"),
        )  # fmt: skip
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert json.loads(listed.stdout)["attributes"] == list(exported_model.attributes)
        keyless = run_probe("readiness", "--address", gateway.address, "--list-attributes")
        assert keyless.returncode == 1 and "UNAUTHENTICATED" in keyless.stdout
        triton.stop()
        assert wait_for(lambda: statuses(gateway.address)[""] == "NOT_SERVING", timeout=60)
        assert statuses(gateway.address)["liveness"] == "SERVING"
        assert run_probe("liveness", env=pod_env(gateway)).returncode == 0
        assert run_probe("readiness", env=pod_env(gateway)).returncode == 1
    finally:
        gateway.stop()
        triton.stop()


def test_probe_speaks_tls_to_a_tls_gateway(certs, tmp_path) -> None:
    env = {
        "ASEN_TRITON_URLS": dead_triton(),
        "ASEN_TLS_CERT": str(certs["server"]),
        "ASEN_TLS_KEY": str(certs["server.key"]),
    }
    gateway = GatewayProcess(env, tmp_path / "gateway.log")
    gateway.start(until="DOWN")  # plaintext health cannot reach a TLS port
    try:
        assert wait_for(lambda: run_probe("liveness", env=pod_env(gateway)).returncode == 0, 60)
        result = run_probe("readiness", env=pod_env(gateway))
        assert result.returncode == 1 and "readiness: NOT_SERVING" in result.stdout
        assert "over TLS" in result.stdout
        # the same port without TLS, as a TCP or plaintext gRPC probe would see it
        plain = run_probe("liveness", env={"ASEN_GRPC_PORT": str(gateway.port)})
        assert plain.returncode == 1 and "UNREACHABLE" in plain.stdout
        # from outside the pod: trust the CA, check a name the certificate carries
        outside = run_probe(
            "liveness", "--address", gateway.address, "--tls-ca", str(certs["ca"]),
            "--server-name", "localhost",
        )  # fmt: skip
        assert outside.returncode == 0, outside.stdout + outside.stderr
        wrong_name = run_probe(
            "liveness", "--address", gateway.address, "--tls-ca", str(certs["ca"]),
            "--server-name", "not-the-gateway.example",
        )  # fmt: skip
        assert wrong_name.returncode == 1
    finally:
        gateway.stop()


def test_probe_presents_a_client_certificate_to_a_mutual_tls_gateway(certs, tmp_path) -> None:
    env = {
        "ASEN_TRITON_URLS": dead_triton(),
        "ASEN_TLS_CERT": str(certs["server"]),
        "ASEN_TLS_KEY": str(certs["server.key"]),
        "ASEN_TLS_CLIENT_CA": str(certs["ca"]),
    }
    gateway = GatewayProcess(env, tmp_path / "gateway.log")
    gateway.start(until="DOWN")
    try:
        # in the pod: the gateway's own key pair is the probe's client certificate
        assert wait_for(lambda: run_probe("liveness", env=pod_env(gateway)).returncode == 0, 60)
        own = {"ASEN_GRPC_PORT": str(gateway.port), "ASEN_TLS_CERT": env["ASEN_TLS_CERT"]}
        without_client_cert = run_probe("liveness", env=own)
        assert without_client_cert.returncode == 1
        for client, expected in (("client", 0), ("rogue_client", 1)):
            result = run_probe(
                "liveness", "--tls-cert", str(certs[client]),
                "--tls-key", str(certs[f"{client}.key"]), env=own,
            )  # fmt: skip
            assert result.returncode == expected, (client, result.stdout, result.stderr)
    finally:
        gateway.stop()


def test_probe_refuses_unusable_arguments(tmp_path) -> None:
    missing = run_probe("liveness", "--tls-server-cert", str(tmp_path / "absent.pem"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    (tmp_path / "not.pem").write_text("not a certificate\n")
    garbage = run_probe("liveness", "--tls-server-cert", str(tmp_path / "not.pem"))
    assert garbage.returncode == 2 and "not a PEM certificate" in garbage.stderr
    half = run_probe("liveness", "--tls-ca", str(tmp_path / "not.pem"), "--tls-cert", "x")
    assert half.returncode == 2 and "both a client certificate and its key" in half.stderr
    assert run_probe("alive").returncode == 2


async def test_shutdown_ends_liveness_for_good() -> None:
    health = GatewayHealth()
    servicer = health.servicer
    await health.set_serving(False)

    async def status(service: str) -> int:
        return (await servicer.Check(health_pb2.HealthCheckRequest(service=service), None)).status

    assert await status("liveness") == health_pb2.HealthCheckResponse.SERVING
    await health.shutdown()
    await health.set_serving(True)  # a late Triton readiness callback must not revive it
    for service in ("liveness", *READINESS_NAMES):
        assert await status(service) == health_pb2.HealthCheckResponse.NOT_SERVING
