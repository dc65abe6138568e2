"""Around every API call: admission (in-flight limit), deadline, status mapping, metrics, log.

Handlers raise GatewayError for request errors; this turns it into the gRPC status with its
message. Anything unexpected becomes INTERNAL with a generic message (details only in the log),
so one bad request never takes the server down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc

from gateway import metrics
from gateway.errors import GatewayError
from gateway.limits import InFlightLimiter

log = logging.getLogger("gateway.access")
T = TypeVar("T")


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
        if not self._limiter.try_acquire():
            _record(method, grpc.StatusCode.RESOURCE_EXHAUSTED, 0.0)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, _overloaded(self._limiter))
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        message = ""
        try:
            return await handler(self.deadline(context))
        except GatewayError as error:
            code, message = error.code, error.message
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception:
            log.exception("unexpected error", extra={"method": method})
            code, message = grpc.StatusCode.INTERNAL, "internal error (see the gateway log)"
        finally:
            self._limiter.release()
            _record(method, code, time.perf_counter() - started, message)
        await context.abort(code, message)
        raise AssertionError("unreachable")

    async def stream(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        handler: Callable[[], AsyncIterator[T]],
    ) -> AsyncIterator[T]:
        """A streaming call holds one in-flight slot for its whole life."""
        if not self._limiter.try_acquire():
            _record(method, grpc.StatusCode.RESOURCE_EXHAUSTED, 0.0)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, _overloaded(self._limiter))
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        message = ""
        try:
            async for item in handler():
                yield item
        except GatewayError as error:
            code, message = error.code, error.message
        except (asyncio.CancelledError, GeneratorExit):
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception:
            log.exception("unexpected error", extra={"method": method})
            code, message = grpc.StatusCode.INTERNAL, "internal error (see the gateway log)"
        finally:
            self._limiter.release()
            _record(method, code, time.perf_counter() - started, message)
        if code != grpc.StatusCode.OK:
            await context.abort(code, message)


def _overloaded(limiter: InFlightLimiter) -> str:
    return f"gateway overloaded: {limiter.max_in_flight} requests in flight; retry later"


def _record(method: str, code: grpc.StatusCode, seconds: float, message: str = "") -> None:
    metrics.REQUESTS.labels(method=method, code=code.name).inc()
    metrics.REQUEST_DURATION.labels(method=method).observe(seconds)
    if code == grpc.StatusCode.OK:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("call", extra={"method": method, "code": code.name, "seconds": seconds})
    else:
        log.info(
            "call failed",
            extra={"method": method, "code": code.name, "seconds": seconds, "error": message},
        )
