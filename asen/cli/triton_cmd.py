"""`asen triton`: run a real tritonserver on a model repository until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from asen.triton.launcher import LOOPBACK, TritonServer
from asen.triton.supervisor import TritonSupervisor
from asen_contract.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "triton",
        help="start tritonserver on an exported model repository",
        description="Start the tritonserver of the nvidia-pytriton wheel (or --tritonserver "
        "PATH), wait until every model is ready, restart it if it dies, and stop it cleanly on "
        "Ctrl-C or SIGTERM. It listens on loopback only unless --address says otherwise.",
    )
    parser.add_argument("--repository", type=Path, required=True, help="from `asen export`")
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument(
        "--http-port", type=int, default=None, help="serve HTTP/REST on this port (default: off)"
    )
    parser.add_argument(
        "--address",
        default=LOOPBACK,
        help=f"address to listen on (default {LOOPBACK}; 0.0.0.0 exposes Triton, which has no "
        "authentication, to the network)",
    )
    parser.add_argument(
        "--tritonserver", type=Path, default=None, help="bin/tritonserver of an installation"
    )
    parser.add_argument("--log", type=Path, default=None, help="server log file")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for ready")
    parser.add_argument("--json", action="store_true", help="print the endpoints as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.repository.is_dir():
        raise ConfigError(f"--repository {args.repository} is not a folder")
    server = TritonServer(
        args.repository,
        args.http_port,
        args.grpc_port,
        args.metrics_port,
        tritonserver=args.tritonserver,
        log_path=args.log,
        address=args.address,
    )
    supervisor = TritonSupervisor(
        server,
        report=lambda line: print(f"asen triton: {line}", file=sys.stderr, flush=True),
        start_timeout=args.timeout,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        supervisor.start()
        endpoints = {
            "grpc": server.grpc_url,
            "http": server.http_url,
            "metrics": server.metrics_url,
            "log": str(server.log_path),
            "models": [m["name"] for m in server.models()],
        }
        if args.json:
            print(json.dumps(endpoints), flush=True)
        else:
            print(f"tritonserver ready: {', '.join(endpoints['models'])}")
            print(f"  gRPC    {server.grpc_url}")
            print(f"  HTTP    {server.http_url or 'off (--http-port N turns it on)'}")
            print(f"  metrics {server.metrics_url}")
            print(f"  log     {server.log_path}")
            print("Ctrl-C or SIGTERM stops it.", flush=True)
        while not stop.wait(1.0):  # a timed wait lets Ctrl-C through at once
            pass
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
        signal.signal(signal.SIGTERM, previous)
    print("tritonserver stopped", flush=True)
    return 0
