"""`asen serve`: the whole stack on one machine: tritonserver with a model repository, and the
gRPC gateway in front of it (embedded LRU cache, or Redis with --redis). Ctrl-C / SIGTERM stops
both cleanly: the gateway drains in-flight calls first, then Triton is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from asen_contract.errors import AsenError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve a Triton model repository through the gRPC gateway (one machine)"
    )
    parser.add_argument("--repository", type=Path, required=True, help="Triton model repository")
    parser.add_argument("--grpc-port", type=int, default=50051, help="gateway gRPC port")
    parser.add_argument("--metrics-port", type=int, default=9095, help="gateway /metrics port")
    parser.add_argument("--redis", default=None, help="Redis URL (default: in-process cache)")
    parser.add_argument("--api-keys-file", default=None, help="SHA-256 digests of accepted keys")
    parser.add_argument("--tls-cert", default=None, help="server certificate (PEM)")
    parser.add_argument("--tls-key", default=None, help="server key (PEM)")
    parser.add_argument("--tls-client-ca", default=None, help="client CA: enables mutual TLS")
    parser.add_argument(
        "--triton-grpc-port", type=int, default=0, help="Triton's gRPC port (0 = a free port)"
    )
    parser.add_argument("--triton-metrics-port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--tritonserver", type=Path, default=None, help="tritonserver binary")
    parser.add_argument("--triton-log", type=Path, default=None, help="file for Triton's log")
    parser.add_argument(
        "--startup-timeout", type=float, default=300.0, help="seconds to wait for Triton"
    )
    parser.add_argument("--log-level", default=None, help="gateway log level ($ASEN_LOG_LEVEL)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from asen.triton.launcher import TritonServer
    from asen.triton.ports import free_port
    from asen.triton.supervisor import TritonSupervisor
    from gateway.config import GatewayConfig
    from gateway.logging_setup import configure_logging

    if not args.repository.is_dir():
        raise AsenError(f"no such model repository: {args.repository}")
    triton_grpc = args.triton_grpc_port or free_port()
    settings = argparse.Namespace(
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        redis_url=args.redis,
        api_keys_file=args.api_keys_file,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        log_level=args.log_level,
        triton_urls=f"127.0.0.1:{triton_grpc}",
        discovery="static",
    )
    config = GatewayConfig.load(settings)
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
        asyncio.run(_serve(config))
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
