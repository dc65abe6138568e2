"""CallGuard on a real grpc.aio server: a call's own cancellation (its deadline, the client) is
CANCELLED; a CancelledError that escapes from something the call awaited is not the call's, so
the client hears UNAVAILABLE at once instead of waiting for its deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from asen.triton.ports import free_port
from gateway import metrics
from gateway.api.admission import InFlightLimiter
from gateway.api.call_guard import CallGuard
from gateway.api.stream_admission import StreamAdmission

SERVICE = "guardtest.Guarded"


def _guard() -> CallGuard:
    return CallGuard(InFlightLimiter(8), StreamAdmission(8, 8), 10.0, 10.0)


async def _interrupted(deadline: float) -> bytes:
    """Awaits a future someone else cancels (e.g. a shared computation whose owner left)."""
    inner = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(inner.cancel)
    await inner
    return b"never"


async def _slow(deadline: float) -> bytes:
    await asyncio.sleep(60)
    return b"late"


def _handlers(guard: CallGuard) -> grpc.GenericRpcHandler:
    async def interrupted(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return await guard.unary("GuardInterrupted", context, _interrupted)

    async def slow(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return await guard.unary("GuardSlow", context, _slow)

    async def interrupted_stream(
        request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        async def items() -> AsyncIterator[bytes]:
            yield b"first"
            await _interrupted(0.0)

        async for item in guard.stream("GuardInterruptedStream", context, items):
            yield item

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Interrupted": grpc.unary_unary_rpc_method_handler(interrupted),
            "Slow": grpc.unary_unary_rpc_method_handler(slow),
            "InterruptedStream": grpc.unary_stream_rpc_method_handler(interrupted_stream),
        },
    )


@pytest.fixture
async def address() -> AsyncIterator[str]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_handlers(_guard()),))
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


def _count(method: str, code: str) -> float:
    return metrics.REQUESTS.labels(method=method, code=code)._value.get()


async def test_an_escaped_cancellation_is_unavailable_at_once(address: str) -> None:
    before = _count("GuardInterrupted", "UNAVAILABLE")
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(f"/{SERVICE}/Interrupted")
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(b"x", timeout=30)  # waiting for this deadline would be DEADLINE_EXCEEDED
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "interrupted" in raised.value.details()
    assert _count("GuardInterrupted", "UNAVAILABLE") == before + 1


async def test_a_stream_item_cancelled_from_elsewhere_ends_the_stream_unavailable(
    address: str,
) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_stream(f"/{SERVICE}/InterruptedStream")(b"x", timeout=30)
        received = []
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for item in call:
                received.append(item)
    assert received == [b"first"]
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_calls_own_cancellation_stays_cancelled(address: str) -> None:
    before = _count("GuardSlow", "CANCELLED")
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channel.unary_unary(f"/{SERVICE}/Slow")(b"x", timeout=0.5)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    for _ in range(100):  # the server cancels the handler's task just after the deadline
        if _count("GuardSlow", "CANCELLED") == before + 1:
            break
        await asyncio.sleep(0.05)
    assert _count("GuardSlow", "CANCELLED") == before + 1
    assert _count("GuardSlow", "UNAVAILABLE") == 0
