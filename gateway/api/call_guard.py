"""Around every API call: admission (in-flight limit), deadline, status, metrics, log.

Handlers raise the error kinds of asen_contract.errors; `status_of` turns them into the gRPC
status with its message. Anything unexpected becomes INTERNAL with a generic message (details
only in the log), so one bad request never takes the server down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc

from gateway import metrics
from gateway.api.admission import InFlightLimiter
from gateway.api.status import Status, status_of

log = logging.getLogger("gateway.access")
T = TypeVar("T")
_OK = Status(grpc.StatusCode.OK, "")


class CallGuard:
    def __init__(self, limiter: InFlightLimiter, default_timeout: float) -> None:
        self._limiter = limiter
        self._default_timeout = default_timeout

    def deadline(self, context: grpc.aio.ServicerContext) -> float:
        """The call's deadline (monotonic seconds): the client's, or the configured default."""
        remaining = context.time_remaining()
        return time.monotonic() + (self._default_timeout if remaining is None else remaining)

    async def unary(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        handler: Callable[[float], Awaitable[T]],
    ) -> T:
        await self._admit(method, context)
        started = time.perf_counter()
        status = _OK
        try:
            return await handler(self.deadline(context))
        except asyncio.CancelledError as error:
            status = status_of(error)
            raise
        except Exception as error:
            status = _failed(method, error)
        finally:
            self._limiter.release()
            _record(method, status, time.perf_counter() - started)
        await context.abort(status.code, status.message)
        raise AssertionError("unreachable")

    async def stream(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        handler: Callable[[], AsyncIterator[T]],
    ) -> AsyncIterator[T]:
        """A streaming call holds one in-flight slot for its whole life."""
        await self._admit(method, context)
        started = time.perf_counter()
        status = _OK
        try:
            async for item in handler():
                yield item
        except (asyncio.CancelledError, GeneratorExit):
            status = Status(grpc.StatusCode.CANCELLED, "cancelled")
            raise
        except Exception as error:
            status = _failed(method, error)
        finally:
            self._limiter.release()
            _record(method, status, time.perf_counter() - started)
        if status.code != grpc.StatusCode.OK:
            await context.abort(status.code, status.message)

    async def _admit(self, method: str, context: grpc.aio.ServicerContext) -> None:
        if not self._limiter.try_acquire():
            status = Status(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"gateway overloaded: {self._limiter.max_in_flight} requests in flight; "
                "retry later",
            )
            _record(method, status, 0.0)
            await context.abort(status.code, status.message)


def item_status(method: str, error: BaseException) -> Status:
    """The status of one failed item of a stream (logged like a failed call if unexpected)."""
    return _failed(method, error)


def _failed(method: str, error: BaseException) -> Status:
    status = status_of(error)
    if not status.expected:
        log.error("unexpected error", exc_info=error, extra={"method": method})
    return status


def _record(method: str, status: Status, seconds: float) -> None:
    metrics.REQUESTS.labels(method=method, code=status.code.name).inc()
    metrics.REQUEST_DURATION.labels(method=method).observe(seconds)
    if status.code == grpc.StatusCode.OK:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("call", extra={"method": method, "code": "OK", "seconds": seconds})
    else:
        log.info(
            "call failed",
            extra={
                "method": method,
                "code": status.code.name,
                "seconds": seconds,
                "error": status.message,
            },
        )
