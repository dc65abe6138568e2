"""Triton's answers as the domain's error kinds (the inverse direction of gateway.api.status).

Triton reports a request's failure as a gRPC status: a bad image is INVALID_ARGUMENT (the
preprocess model says so), a full queue RESOURCE_EXHAUSTED, a stopped server UNAVAILABLE. The
core sees only `asen_contract.errors`; anything unexpected stays a plain exception (INTERNAL).
"""

from __future__ import annotations

from tritonclient.utils import InferenceServerException

from asen_contract.errors import (
    AsenError,
    Cancelled,
    DeadlineExceeded,
    InvalidInput,
    Overloaded,
    Unavailable,
)

_KINDS: dict[str, type[AsenError]] = {
    "INVALID_ARGUMENT": InvalidInput,
    "RESOURCE_EXHAUSTED": Overloaded,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "CANCELLED": Cancelled,
}


class TritonFailure(RuntimeError):
    """Triton failed in a way that is neither the caller's fault nor a known condition."""


def _status_name(error: InferenceServerException) -> str:
    return (error.status() or "").removeprefix("StatusCode.")


def is_unavailable(error: InferenceServerException) -> bool:
    """The endpoint itself is down (try another one)."""
    return _status_name(error) == "UNAVAILABLE"


def domain_error(error: InferenceServerException) -> Exception:
    kind = _KINDS.get(_status_name(error))
    if kind is None:
        return TritonFailure(f"Triton: {_status_name(error) or 'error'}: {error.message()}")
    return kind(f"model: {error.message()}")
