"""The one exception type the gateway's layers raise: a gRPC status plus a client-facing message."""

from __future__ import annotations

import grpc


class GatewayError(Exception):
    """An error for one request; the service turns it into that status, the server keeps serving."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, message)


def exhausted(message: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)


def unavailable(message: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.UNAVAILABLE, message)


def not_found(message: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.NOT_FOUND, message)
