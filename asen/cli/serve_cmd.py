"""`asen serve`: the whole stack on one machine: tritonserver with a model repository, and the
gRPC gateway in front of it (embedded LRU cache, or Redis with --redis). Ctrl-C / SIGTERM stops
both cleanly: the gateway drains in-flight calls first, then Triton is stopped.

The gateway is configured by its own table (`GatewayConfig`: every `--flag` and `ASEN_*`
variable of `python -m gateway`); the settings `asen serve` decides itself (where Triton is) are
refused when given, never silently ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from asen_contract.errors import AsenError, ConfigError
from gateway.config import GatewayConfig

# Where Triton is: `asen serve` starts it, so these gateway settings cannot apply.
DECIDED_BY_SERVE = ("triton_urls", "discovery", "k8s_namespace", "k8s_service")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a Triton model repository through the gRPC gateway (one machine)",
        description="tritonserver + the gateway. Every gateway flag below also reads its "
        "ASEN_* variable (a flag beats the variable); --triton-grpc-port is the port of the "
        "tritonserver started here (default: a free port).",
    )
    parser.add_argument("--repository", type=Path, required=True, help="Triton model repository")
    parser.add_argument(
        "--redis", dest="redis_url", default=None, help="Redis URL (same as --redis-url)"
    )
    parser.add_argument("--triton-metrics-port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--tritonserver", type=Path, default=None, help="tritonserver binary")
    parser.add_argument("--triton-log", type=Path, default=None, help="file for Triton's log")
    parser.add_argument(
        "--startup-timeout", type=float, default=300.0, help="seconds to wait for Triton"
    )
    GatewayConfig.add_arguments(parser.add_argument_group("gateway"))
    parser.set_defaults(func=run)


def gateway_config(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> tuple[GatewayConfig, int]:
    """The gateway's configuration under `asen serve` and the port of the Triton to start."""
    from asen.triton.ports import free_port

    given = GatewayConfig.given(args, env)
    refused = [name for name in DECIDED_BY_SERVE if name in given]
    if refused:
        names = ", ".join(f"--{n.replace('_', '-')} / {GatewayConfig.variable(n)}" for n in refused)
        raise ConfigError(
            f"{names}: asen serve starts its own tritonserver; unset it, or run the gateway "
            "alone (python -m gateway) in front of running Triton servers"
        )
    triton_grpc = int(given.get("triton_grpc_port") or free_port())
    fixed = {
        "triton_urls": f"127.0.0.1:{triton_grpc}",
        "discovery": "static",
        "triton_grpc_port": triton_grpc,
    }
    return GatewayConfig.load(args, env, fixed), triton_grpc


def run(args: argparse.Namespace) -> int:
    from asen.triton.launcher import TritonServer
    from asen.triton.ports import free_port
    from asen.triton.supervisor import TritonSupervisor
    from gateway.logging_setup import configure_logging

    if not args.repository.is_dir():
        raise AsenError(f"no such model repository: {args.repository}")
    config, triton_grpc = gateway_config(args)
    configure_logging(config.log_level)
    triton = TritonServer(
        repository=args.repository,
        http_port=None,  # Triton is reached through the gateway only: gRPC on loopback
        grpc_port=triton_grpc,
        metrics_port=args.triton_metrics_port or free_port(),
        tritonserver=args.tritonserver,
        log_path=args.triton_log,
    )
    supervisor = TritonSupervisor(  # restarts a Triton that dies; the gateway resumes by itself
        triton,
        report=lambda line: print(f"asen serve: {line}", file=sys.stderr, flush=True),
        start_timeout=args.startup_timeout,
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"asen serve: starting tritonserver on 127.0.0.1:{triton_grpc} ...", file=sys.stderr)
        supervisor.start()
        from gateway import event_loop

        event_loop.run(_serve(config), config.event_loop)
    finally:
        print("asen serve: stopping tritonserver", file=sys.stderr)
        supervisor.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0


async def _serve(config) -> None:
    from gateway.server import Gateway

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    gateway = Gateway(config)
    await gateway.start()
    if not await gateway.pool.wait_ready(60):
        print("asen serve: warning: Triton not ready yet; serving anyway", file=sys.stderr)
    scheme = "TLS" if config.tls_cert else "plaintext"
    print(
        f"asen serve: ready on port {gateway.port} ({scheme}); metrics on port "
        f"{gateway.metrics_port}; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await gateway.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
