"""The floor: what an empty grpc.aio unary call costs on this machine, to judge the gateway by.

Starts a grpc.aio server (same grpcio and Python as the gateway, one process) whose only method
answers every request with an empty message without even parsing it, and drives it with h2load
(loadtests/h2load_grpc.py), so the server's CPU per call and its calls/s are those of gRPC
itself. Run with an empty request and with a request the size of a cached Compare (two images),
with the default asyncio event loop and with uvloop (when installed).

    python loadtests/grpc_floor.py [--seconds 8] [--clients 2] [--streams 8]
        [--body-bytes 0 20000] [--loops asyncio uvloop] [--json]

`python loadtests/grpc_floor.py --serve PORT [--loop uvloop]` runs the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import h2load_grpc  # noqa: E402

METHOD = "/floor.Floor/Empty"


async def serve(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
    handler = grpc.method_handlers_generic_handler(
        "floor.Floor",
        {
            "Empty": grpc.unary_unary_rpc_method_handler(
                _async_empty, request_deserializer=None, response_serializer=None
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("serving", flush=True)
    await stop.wait()
    await server.stop(0)


async def _async_empty(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return b""


def run_server(port: int, loop: str) -> int:
    if loop == "uvloop":
        import uvloop

        uvloop.run(serve(port))
    else:
        asyncio.run(serve(port))
    return 0


def measure(loop: str, body_bytes: int, args: argparse.Namespace) -> dict:
    from asen.triton.ports import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--loop", loop],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "serving":
            raise RuntimeError("the floor server did not start")
        address = f"127.0.0.1:{port}"
        with grpc.insecure_channel(address) as channel:  # one real call first
            channel.unary_unary(METHOD)(b"x" * body_bytes, timeout=10)
        result = h2load_grpc.run(
            address,
            METHOD,
            b"x" * body_bytes,
            args.seconds,
            args.clients,
            args.streams,
            warm_up=2,
            pid=server.pid,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {"loop": loop, "body_bytes": body_bytes, **asdict(result)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help="run the server alone on this port")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--loops", nargs="+", default=["asyncio", "uvloop"])
    parser.add_argument("--body-bytes", type=int, nargs="+", default=[0, 20000])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.serve:
        return run_server(args.serve, args.loop)
    loops = [loop for loop in args.loops if loop != "uvloop" or _has_uvloop()]
    results = [measure(loop, size, args) for size in args.body_bytes for loop in loops]
    print(f"grpc.aio floor, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'loop':8s} {'body B':>7s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} "
          f"{'CPU ms/call':>12s}")  # fmt: skip
    for r in results:
        print(
            f"{r['loop']:8s} {r['body_bytes']:7d} {r['requests_per_s']:8.0f} {r['p50_ms']:7.2f} "
            f"{r['p99_ms']:7.2f} {r['server_cpu_ms_per_request']:12.3f}"
        )
    if args.json:
        print(
            json.dumps(
                {"floor": results, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            )
        )
    return 0


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
