"""Optional API keys: `authorization: Bearer <key>` metadata checked against SHA-256 digests.

The keys file holds one lowercase hex SHA-256 digest of an accepted key per line, optionally
followed by a name for the logs (`# comments` and blank lines ignored), so the gateway never
stores a key itself. No key -> UNAUTHENTICATED; a key that is not accepted -> PERMISSION_DENIED.
Health checks are exempt so probes and load balancers need no key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from asen_contract.errors import ConfigError
from gateway import metrics
from gateway.api.failure_log import FailureLog

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)


def hash_key(key: str) -> str:
    """The digest to put into the keys file for `key`."""
    return hashlib.sha256(key.encode()).hexdigest()


def load_keys(path: Path) -> dict[str, str]:
    """digest -> name; raises ConfigError on a malformed line."""
    keys: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        digest, _, name = line.partition(" ")
        digest = digest.lower()
        if not _DIGEST.match(digest):
            raise ConfigError(f"{path}:{number}: expected a SHA-256 hex digest of an API key")
        keys[digest] = name.strip() or f"key-{digest[:8]}"
    if not keys:
        raise ConfigError(f"{path}: no API key digests")
    return keys


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, keys: dict[str, str], rejections_per_second: float = 5.0) -> None:
        self._keys = keys
        self._rejections = FailureLog(log, rejections_per_second)

    def check(self, metadata: tuple[tuple[str, str | bytes], ...]) -> grpc.StatusCode | None:
        """None if allowed, else the status to reject with."""
        header = next((v for k, v in metadata if k == "authorization"), None)
        if isinstance(header, bytes):
            header = header.decode(errors="replace")
        if not header or not header.lower().startswith("bearer ") or not header[7:].strip():
            return grpc.StatusCode.UNAUTHENTICATED
        digest = hash_key(header[7:].strip())
        accepted = False
        for known in self._keys:
            accepted |= hmac.compare_digest(digest, known)
        return None if accepted else grpc.StatusCode.PERMISSION_DENIED

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(EXEMPT_PREFIXES):
            return handler
        code = self.check(tuple(details.invocation_metadata or ()))
        if code is None:
            return handler
        method = details.method.rsplit("/", 1)[-1]
        metrics.REQUESTS.labels(method=method, code=code.name).inc()
        self._rejections.failed(method, code.name, 0.0, "call rejected")
        return _rejecting(handler, code)


def _rejecting(handler: grpc.RpcMethodHandler, code: grpc.StatusCode) -> grpc.RpcMethodHandler:
    message = (
        "missing API key: send metadata 'authorization: Bearer <key>'"
        if code == grpc.StatusCode.UNAUTHENTICATED
        else "API key not accepted"
    )

    async def reject(_request, context: grpc.aio.ServicerContext):
        await context.abort(code, message)

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(reject, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(reject, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(reject, **kwargs)
    return grpc.unary_unary_rpc_method_handler(reject, **kwargs)
