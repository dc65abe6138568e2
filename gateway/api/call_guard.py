"""Around every API call: admission, deadline, status, metrics, log.

Unary calls are admitted by the in-flight limit; streams by their own budget and a per-caller
cap (`StreamAdmission`), so open streams never starve unary calls. Handlers raise the error
kinds of asen_contract.errors; `status_of` turns them into the gRPC status. Anything unexpected
becomes INTERNAL with a generic message (details only in the log), so one bad request never
takes the server down; a cancellation that is not the call's own becomes UNAVAILABLE at once.
Failed calls are logged at a bounded rate; the metrics count every call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from asen_contract.errors import Unavailable
from gateway import metrics
from gateway.api.admission import InFlightLimiter
from gateway.api.callers import caller_of
from gateway.api.failure_log import FailureLog
from gateway.api.status import Status, status_of
from gateway.api.stream_admission import StreamAdmission

log = logging.getLogger("gateway.access")
T = TypeVar("T")
_OK = Status(grpc.StatusCode.OK, "")
_CANCELLED = Status(grpc.StatusCode.CANCELLED, "cancelled")
_INTERRUPTED = Unavailable("the call was interrupted inside the gateway; retry it")


class CallGuard:
    def __init__(
        self,
        limiter: InFlightLimiter,
        streams: StreamAdmission,
        default_timeout: float,
        failures_per_second: float,
    ) -> None:
        self._limiter = limiter
        self._streams = streams
        self._default_timeout = default_timeout
        self._failures = FailureLog(log, failures_per_second)
        # Metric children bound once per label set: `labels()` on every call costs a lock and
        # a lookup, several times per call on the hot path.
        self._durations: dict[str, Any] = {}
        self._counts: dict[tuple[str, str], Any] = {}

    def deadline(self, context: grpc.aio.ServicerContext) -> float:
        """The call's deadline (monotonic seconds): the client's, or the configured default."""
        remaining = context.time_remaining()
        return time.monotonic() + (self._default_timeout if remaining is None else remaining)

    def item_deadlines(
        self, context: grpc.aio.ServicerContext, timeout: float | None = None
    ) -> Callable[[], float]:
        """Deadlines of stream items: each gets `timeout` (default: the call timeout) from when
        it is read, never past the client's own deadline for the whole stream (if it set one:
        gRPC ends the call then anyway); the gateway itself sets no deadline on a stream."""
        remaining = context.time_remaining()
        whole = float("inf") if remaining is None else time.monotonic() + remaining
        each = self._default_timeout if timeout is None else timeout
        return lambda: min(whole, time.monotonic() + each)

    async def unary(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        handler: Callable[[float], Awaitable[T]],
    ) -> T:
        if not self._limiter.try_acquire():
            await self._refuse(method, context, self._limiter.overloaded_message())
        started = time.perf_counter()
        status = _OK
        try:
            return await handler(self.deadline(context))
        except asyncio.CancelledError:
            if _this_call_cancelled():
                status = _CANCELLED
                raise
            status = self.failed(method, _INTERRUPTED)
        except Exception as error:
            status = self.failed(method, error)
        finally:
            self._limiter.release()
            seconds = time.perf_counter() - started
            duration = self._durations.get(method)
            if duration is None:
                duration = self._durations[method] = metrics.REQUEST_DURATION.labels(method=method)
            duration.observe(seconds)
            self._record(method, status, seconds)
        await context.abort(status.code, status.message)
        raise AssertionError("unreachable")

    async def stream(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        handler: Callable[[], AsyncIterator[T]],
    ) -> AsyncIterator[T]:
        """A stream holds one stream slot of its caller for its whole life."""
        caller = caller_of(context)
        try:
            self._streams.acquire(caller)
        except Exception as error:
            await self._refuse(method, context, str(error))
        started = time.perf_counter()
        status = _OK
        try:
            async for item in handler():
                yield item
        except GeneratorExit:
            status = _CANCELLED
            raise
        except asyncio.CancelledError:
            if _this_call_cancelled():
                status = _CANCELLED
                raise
            status = self.failed(method, _INTERRUPTED)
        except Exception as error:
            status = self.failed(method, error)
        finally:
            self._streams.release(caller)
            seconds = time.perf_counter() - started
            metrics.STREAM_DURATION.labels(method=method).observe(seconds)
            self._record(method, status, seconds)
        if status.code != grpc.StatusCode.OK:
            await context.abort(status.code, status.message)

    def failed(self, method: str, error: BaseException) -> Status:
        """The status of a failed call or stream item; an unexpected error is logged in full."""
        status = status_of(error)
        if not status.expected:
            log.error("unexpected error", exc_info=error, extra={"method": method})
        return status

    async def _refuse(self, method: str, context: grpc.aio.ServicerContext, message: str) -> None:
        status = Status(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
        self._record(method, status, 0.0)
        await context.abort(status.code, status.message)

    def _record(self, method: str, status: Status, seconds: float) -> None:
        code = status.code
        count = self._counts.get((method, code.name))
        if count is None:
            count = metrics.REQUESTS.labels(method=method, code=code.name)
            self._counts[(method, code.name)] = count
        count.inc()
        if code is not grpc.StatusCode.OK:
            self._failures.failed(method, status.code.name, seconds, status.message)


def _this_call_cancelled() -> bool:
    """Whether the call's own task was cancelled (the client cancelled, its deadline passed, or
    the server is stopping), as opposed to a CancelledError escaping from something the call
    awaited: the client must hear about that now, not at its deadline."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
