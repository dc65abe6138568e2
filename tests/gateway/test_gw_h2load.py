"""The h2load driver (loadtests/h2load_grpc.py) and the grpc.aio floor (loadtests/grpc_floor.py)
against a real server: frames, counts, latency percentiles and the server's CPU come back. No
figure is asserted beyond its presence: speed is the benchmarks' business, not the tests'."""

from __future__ import annotations

import argparse
import math
import struct
import subprocess
import sys

import pytest

from loadtests import grpc_floor, h2load_grpc


def test_a_grpc_frame_is_a_flag_byte_a_length_and_the_message() -> None:
    frame = h2load_grpc.grpc_frame(b"abc")
    assert frame[:1] == b"\x00" and struct.unpack(">I", frame[1:5]) == (3,)
    assert frame[5:] == b"abc"


def test_unexpected_output_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="unexpected h2load output"):
        h2load_grpc.parse("nothing", "/m", 1, 1, 1, h2load_grpc.np.zeros(0), None)


@pytest.mark.skipif(not h2load_grpc.available(), reason="h2load missing: run `make tools`")
def test_the_floor_server_answers_every_h2load_call() -> None:
    settings = argparse.Namespace(seconds=1, clients=1, streams=2)
    result = grpc_floor.measure("asyncio", 64, settings)
    assert result["succeeded"] > 0 and result["failed"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"] and not math.isnan(result["p99_ms"])
    assert result["server_cpu_ms_per_request"] is not None


@pytest.mark.skipif(not h2load_grpc.available(), reason="h2load missing: run `make tools`")
def test_an_offered_rate_is_kept_and_reported() -> None:
    """Open loop: h2load sends about the offered rate, not as many calls as the server takes."""
    settings = argparse.Namespace(seconds=2, clients=2, streams=8, rate=50)
    result = grpc_floor.measure("asyncio", 64, settings)
    assert result["offered_per_s"] == 50 and result["failed"] == 0
    # A closed loop on this server runs at thousands of calls/s; 50/s offered stays near 50.
    assert 25 <= result["requests_per_s"] <= 75


@pytest.mark.skipif(not h2load_grpc.available(), reason="h2load missing: run `make tools`")
def test_the_soak_capacity_checks_the_call_then_drives_h2load() -> None:
    from asen.triton.ports import free_port
    from gateway.generated.asen.v1 import similarity_pb2 as pb
    from loadtests.soak import capacity

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, grpc_floor.__file__, "--serve", str(port), "--kind", "compare"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "serving"
        request = pb.CompareRequest(a=pb.ImageRef(data=b"a"), b=pb.ImageRef(data=b"b"))
        result = capacity.measure(f"127.0.0.1:{port}", request, seconds=1, clients=1, streams=2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result is not None and result.succeeded > 0 and result.failed == 0
    assert result.method == capacity.COMPARE and result.p50_ms <= result.p99_ms
