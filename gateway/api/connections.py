"""Client connections to the gRPC port: their limits (server options) and how many are open.

Without limits a client can hold connections for free: gRPC's default handshake timeout is
120 s and idle connections live for ever. The gateway bounds the handshake, closes connections
idle for long, refuses connections beyond a cap, and ages connections out (GOAWAY after a
maximum age; calls in flight get a grace period) so that long-lived clients reconnect and reach
new gateway pods (gRPC balances per connection).

The count of open connections comes from the kernel's socket table (/proc/net, Linux): every
ESTABLISHED socket whose local port is the gateway's is one client connection (in a pod, the
table is the pod's own network namespace). Elsewhere it is 0.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import GatewayConfig

_ESTABLISHED = "01"
_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_UNLIMITED_MS = 2**31 - 1


def server_options(config: GatewayConfig) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
        ("grpc.server_handshake_timeout_ms", _ms(config.handshake_timeout_seconds)),
        ("grpc.max_connection_idle_ms", _ms(config.connection_idle_seconds)),
        ("grpc.max_connection_age_ms", _ms(config.max_connection_age_seconds)),
        ("grpc.max_connection_age_grace_ms", _ms(config.max_connection_age_grace_seconds)),
        ("grpc.max_allowed_incoming_connections", config.max_connections),
    ]


def _ms(seconds: float) -> int:
    """Milliseconds for a gRPC option; 0 (= no limit) becomes gRPC's 'infinite'."""
    return _UNLIMITED_MS if seconds <= 0 else max(1, int(seconds * 1000))


def open_connections(port: int) -> int:
    if port <= 0:
        return 0
    wanted = f"{port:04X}"
    count = 0
    for table in _TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _ESTABLISHED:
                count += fields[1].rsplit(":", 1)[1] == wanted
    return count
