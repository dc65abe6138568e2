"""The endpoint string format shared by every discovery source, and the source protocol.

The gateway dials Triton's gRPC port with "host:port" targets, so that is the one format every
source reports; IPv6 addresses are bracketed ("[fd00::1]:8001") so the port stays unambiguous.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Protocol

OnChange = Callable[[list[str]], None]
"""Receives the full, sorted list of endpoints each time it changes (never a diff)."""

_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


class EndpointSource(Protocol):
    """What the gateway needs from a discovery source."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def format_endpoint(host: str, port: int) -> str:
    """Join host and port; IPv6 literals get brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_endpoint(value: str) -> tuple[str, int]:
    """Split "host:port" (or "[ipv6]:port"); raise ValueError that names the bad value."""
    expected = 'expected "host:port", e.g. "triton-0.triton:8001" or "[fd00::1]:8001"'
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not text:
        raise ValueError(f"empty Triton endpoint {value!r}: {expected}")
    if "://" in text:
        raise ValueError(f"Triton endpoint {value!r} has a scheme; {expected}")
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"Triton endpoint {value!r} has no port; {expected}")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"Triton endpoint {value!r}: bad IPv6 address; {expected}") from None
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"Triton endpoint {value!r}: IPv6 needs brackets; {expected}")
    elif not _HOSTNAME.match(host):
        raise ValueError(f"Triton endpoint {value!r}: bad host name; {expected}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"Triton endpoint {value!r}: port must be 1-65535; {expected}")
    return host, int(port_text)
