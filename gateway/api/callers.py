"""Who is calling: the identity that per-caller quotas count (never logged as such)."""

from __future__ import annotations

import hashlib

import grpc


def caller_of(context: grpc.aio.ServicerContext) -> str:
    """`key:<digest prefix>` for a call with a bearer key, else `peer:<address without port>`.

    With API keys on, the interceptor has already accepted the key; without keys, the peer's
    address is the best identity there is (a NAT or proxy shares one)."""
    for name, value in context.invocation_metadata() or ():
        if name == "authorization":
            if isinstance(value, bytes):
                value = value.decode(errors="replace")
            return "key:" + hashlib.sha256(value.encode()).hexdigest()[:16]
    return "peer:" + _host(context.peer() or "")


def _host(peer: str) -> str:
    """`ipv4:10.0.0.1:5555` -> `ipv4:10.0.0.1`, `ipv6:[::1]:5555` -> `ipv6:[::1]`."""
    address, _, port = peer.rpartition(":")
    return address if port.isdigit() and address else peer
