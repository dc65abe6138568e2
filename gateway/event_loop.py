"""The event loop the gateway runs on (`ASEN_EVENT_LOOP`): uvloop by default, or Python's own.

uvloop (libuv) runs the same asyncio code with cheaper scheduling and I/O; grpc.aio polls its
completion queue on its own thread and works on either loop. docs/gateway.md ("Performance")
has the figures of both, measured side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], loop: str = "uvloop") -> T:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
