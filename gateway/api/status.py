"""The one place where the domain's error kinds become gRPC status codes.

Unary calls end with this status; a stream item that fails carries the same code name in its
`Error.code`. A caller over a per-request limit (LimitExceeded) is INVALID_ARGUMENT, like any
other bad input; RESOURCE_EXHAUSTED is kept for the server's capacity and per-caller quotas
(Overloaded), so alerts on it mean the service, not a caller. Anything that is not a known kind
is INTERNAL with a generic message (the details go to the log only).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from asen_contract.errors import (
    Cancelled,
    DeadlineExceeded,
    InvalidInput,
    NotFound,
    Overloaded,
    Unavailable,
)

_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),  # ImageError, LimitExceeded included
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (Overloaded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Cancelled, grpc.StatusCode.CANCELLED),
    (asyncio.CancelledError, grpc.StatusCode.CANCELLED),
)
INTERNAL_MESSAGE = "internal error (see the gateway log)"


@dataclass(frozen=True)
class Status:
    code: grpc.StatusCode
    message: str

    @property
    def expected(self) -> bool:
        """A known kind (the caller's error or a service condition), not a bug to log in full."""
        return self.code != grpc.StatusCode.INTERNAL


def status_of(error: BaseException) -> Status:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return Status(code, str(error) or code.name)
    return Status(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
