"""Draining a gateway loses no call: found by the soak (a call sent as the gateway got SIGTERM
was CANCELLED). On stop the gateway turns NOT_SERVING and keeps accepting calls for
ASEN_SHUTDOWN_DELAY_SECONDS, so clients watching health move away first; only then are new
calls refused. Runs the gateway in-process without a Triton (health calls need none)."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.config import GatewayConfig
from gateway.server import Gateway


async def _check(stub: health_pb2_grpc.HealthStub) -> str:
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
    except grpc.aio.AioRpcError as error:
        return error.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def test_calls_sent_just_after_sigterm_are_served_then_refused() -> None:
    config = GatewayConfig(
        grpc_port=0, metrics_port=-1, triton_urls="127.0.0.1:1", shutdown_delay_seconds=1.0
    )
    gateway = Gateway(config)  # binds 127.0.0.1 by default (ASEN_GRPC_HOST)
    await gateway.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert await _check(stub) == "NOT_SERVING"  # no Triton, but the server answers
        stopping = asyncio.ensure_future(gateway.stop(grace=2))
        await asyncio.sleep(0.2)
        assert await _check(stub) == "NOT_SERVING"  # still accepted while clients move away
        await stopping
        assert await _check(stub) == "UNAVAILABLE"
