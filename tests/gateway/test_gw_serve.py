"""`asen serve` (tritonserver + gateway with the embedded cache) driven by `asen client`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

from .gw_support import free_port, image_bytes, scrape, wait_for


def _asen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asen", *args], capture_output=True, text=True, timeout=120
    )


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _health(address: str) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return "DOWN"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def test_serve_and_client_commands(exported_model, tmp_path) -> None:
    """The gateway's ports come from ASEN_GRPC_PORT / ASEN_METRICS_PORT: `asen serve` reads the
    gateway's own configuration table, so no variable is silently ignored."""
    port, metrics_port, triton_port = free_port(), free_port(), free_port()
    address = f"127.0.0.1:{port}"
    a, b = tmp_path / "a.jpg", tmp_path / "b.png"
    a.write_bytes(image_bytes(1, (90, 120), "JPEG"))
    b.write_bytes(image_bytes(2, (100, 80), "PNG"))
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "asen", "serve", "--repository",
             str(exported_model.repository), "--triton-grpc-port", str(triton_port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ASEN_REDIS_PASSWORD": "hunter2-secret",
                 "ASEN_GRPC_PORT": str(port), "ASEN_METRICS_PORT": str(metrics_port)},
        )  # fmt: skip
    try:
        assert wait_for(lambda: _health(address) == "SERVING", timeout=300), log.read_text()
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        compared = _asen(
            "client", "compare", str(a), str(b), "--attribute", "collar_design", "--json",
            "--address", address,
        )  # fmt: skip
        assert compared.returncode == 0, compared.stderr
        scores = json.loads(compared.stdout)["scores"]
        assert set(scores) == {"collar_design"}
        assert -1.0 <= scores["collar_design"]["similarity"] <= 1.0
        ranked = _asen(
            "client", "rank", str(a), str(b), str(a), "--attribute", "lapel_design",
            "--address", address,
        )  # fmt: skip
        assert ranked.returncode == 0, ranked.stderr
        assert ranked.stdout.splitlines()[1].strip().endswith(str(a))  # a is most like a
        embedded = _asen("client", "embed", str(b), "--json", "--address", address)
        assert embedded.returncode == 0, embedded.stderr
        assert len(json.loads(embedded.stdout)["embeddings"]) == 3
        attributes = _asen("client", "attributes", "--address", address)
        assert "collar_design: round, v_neck, peter_pan" in attributes.stdout
        missing = _asen(
            "client", "compare", str(a), str(tmp_path / "nope.jpg"), "--address", address
        )
        assert missing.returncode == 2 and "no such image file" in missing.stderr
        bad = _asen(
            "client", "embed", str(a), "--attribute", "pocket", "--address", address
        )  # fmt: skip
        assert bad.returncode == 2 and "INVALID_ARGUMENT" in bad.stderr
        calls = scrape(metrics_url, "asen_gateway_requests_total", {"method": "Compare"})
        assert calls == 1  # the one compare that reached the gateway, counted on ASEN_METRICS_PORT
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=90)
    output = log.read_text()
    assert code == 0, output
    assert not _listening(triton_port)  # tritonserver was stopped too
    assert "hunter2-secret" not in output and '"redis_password": "***"' in output
