"""The Triton pool against a real tritonserver: an endpoint that leaves the endpoint set (a
scale-down: its pod is terminating but still serves) while calls are in flight on it.

Found by the soak: removing the endpoint closed its connection at once, which cancelled the
calls in flight on it; the cancellation escaped as asyncio.CancelledError, and the gateway
never answered those calls (the client waited for its deadline: DEADLINE_EXCEEDED). A removed
endpoint now gets no new calls but keeps its connection until its calls in flight are done."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.errors import Unavailable
from gateway.core.inference import InferOutput
from gateway.triton import pool as pool_module
from gateway.triton.pool import TritonPool

from .gw_support import image_bytes


@pytest.fixture(scope="module")
def triton(exported_model, tmp_path_factory):
    http, grpc_port, metrics = free_ports(3)
    server = TritonServer(
        exported_model.repository,
        http,
        grpc_port,
        metrics,
        log_path=tmp_path_factory.mktemp("triton") / "triton.log",
    )
    server.start(timeout=300)
    yield server
    server.stop()


async def _remove_under_load(url: str) -> tuple[int, list]:
    """12 concurrent calls of 8 images on the one endpoint; remove it while they are in flight."""
    pool = TritonPool(probe_interval=0.2)
    await pool.start()
    try:
        pool.set_endpoints([url])
        assert await pool.wait_ready(60)
        version = pool.model_info.model_version
        images = [image_bytes(seed, size=(224, 298), fmt="JPEG") for seed in range(8)]
        ids = [[0, 1, 2]] * len(images)
        calls = [
            asyncio.create_task(pool.infer(images, ids, version, False, timeout=120))
            for _ in range(12)
        ]
        endpoint = pool._endpoints[url]
        while endpoint.in_flight == 0:
            await asyncio.sleep(0.001)
        in_flight = endpoint.in_flight
        pool.set_endpoints([])  # scaled down: terminating, still serving what it has
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert pool.endpoints == {}
        return in_flight, outcomes
    finally:
        await pool.stop()


async def test_calls_in_flight_on_a_removed_endpoint_finish(triton) -> None:
    in_flight, outcomes = await _remove_under_load(f"127.0.0.1:{triton.grpc_port}")
    failed = [repr(o) for o in outcomes if not isinstance(o, InferOutput)]
    assert in_flight > 0 and failed == []
    assert all(np.isfinite(o.embeddings).all() for o in outcomes)


async def test_a_call_cut_by_a_closed_connection_is_answered(triton, monkeypatch) -> None:
    """Past the grace the connection is closed under the calls: each is retried elsewhere, and
    with no other endpoint it is UNAVAILABLE, an answer, never an escaped cancellation."""
    monkeypatch.setattr(pool_module, "RETIRE_GRACE_S", 0.0)
    in_flight, outcomes = await _remove_under_load(f"127.0.0.1:{triton.grpc_port}")
    assert in_flight > 0
    assert all(isinstance(o, InferOutput | Unavailable) for o in outcomes), outcomes
    assert any(isinstance(o, Unavailable) for o in outcomes)
