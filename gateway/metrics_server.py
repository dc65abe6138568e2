"""The Prometheus /metrics endpoint, served on the gateway's event loop.

prometheus_client's own server starts a thread per connection and waits without a time limit for
a request line, so a few hundred half-open connections hold a few hundred threads. This one is a
small asyncio server: no thread per connection, a request must arrive within `read_timeout`, at
most `max_connections` are open at once (more are closed at once), and it answers only
`GET /metrics` (and `/`).
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.registry import CollectorRegistry

_MAX_HEADER_BYTES = 8192


class MetricsServer:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry = REGISTRY,
        read_timeout: float = 5.0,
        max_connections: int = 256,
    ) -> None:
        self._host, self._port = host, port
        self._registry = registry
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._open = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        """Listen; returns the bound port (0 asks for a free one)."""
        self._server = await asyncio.start_server(
            self._handle, self._host, self._port, limit=_MAX_HEADER_BYTES
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= self._max_connections:
            writer.close()
            return
        self._open += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._read_timeout)
            method, path = _request_line(head)
            if method == "GET" and path in ("/metrics", "/"):
                await _respond(
                    writer, "200 OK", CONTENT_TYPE_LATEST, generate_latest(self._registry)
                )
            else:
                await _respond(writer, "404 Not Found", "text/plain", b"only GET /metrics\n")
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            pass  # slow, half-open or oversized request: drop the connection
        finally:
            self._open -= 1
            writer.close()


def _request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(parts) != 3:
        return "", ""
    return parts[0], parts[1].split("?", 1)[0]


async def _respond(
    writer: asyncio.StreamWriter, status: str, content_type: str, body: bytes
) -> None:
    header = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(header.encode("latin-1") + body)
    await asyncio.wait_for(writer.drain(), 10)
