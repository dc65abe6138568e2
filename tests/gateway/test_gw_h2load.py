"""The h2load driver (loadtests/h2load_grpc.py) and the grpc.aio floor (loadtests/grpc_floor.py)
against a real server: frames, counts, latency percentiles and the server's CPU come back. No
figure is asserted beyond its presence: speed is the benchmarks' business, not the tests'."""

from __future__ import annotations

import argparse
import math
import struct

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
