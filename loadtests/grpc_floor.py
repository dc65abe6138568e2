"""The floor: what an empty grpc.aio unary call costs on this machine, to judge the gateway by.

Starts a grpc.aio server (same grpcio and Python as the gateway, one process) and drives it with
h2load (loadtests/h2load_grpc.py), so the server's CPU per call and its calls/s are those of
gRPC itself. Two servers:

  empty    one method that answers every request with an empty message without parsing it;
  compare  asen.v1.FashionSimilarity/Compare through the generated servicer (the request
           parsed, a fixed one-attribute CompareResponse serialized): gRPC + protobuf of the
           real message, with none of the gateway's own work.

Run with an empty body and with one the size of a cached Compare (two images), on the default
asyncio event loop and on uvloop.

    python loadtests/grpc_floor.py [--seconds 8] [--clients 2] [--streams 8]
        [--body-bytes 0 20000] [--loops asyncio uvloop] [--json]

`python loadtests/grpc_floor.py --serve PORT [--loop uvloop] [--kind compare]` runs a server
alone.
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


async def serve(port: int, kind: str = "empty") -> None:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
    if kind == "compare":
        from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc

        class FixedCompare(_FixedCompare, pb_grpc.FashionSimilarityServicer):
            pass

        pb_grpc.add_FashionSimilarityServicer_to_server(FixedCompare(), server)
    else:
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


class _FixedCompare:
    """Compare answering one fixed response (what the gateway returns for one attribute)."""

    def __init__(self) -> None:
        from gateway.generated.asen.v1 import similarity_pb2 as pb

        self._response = pb.CompareResponse(
            model_version="0123456789abcdef-cpu",
            scores=[pb.AttributeScore(attribute="collar_design", similarity=0.5,
                                      global_similarity=0.5, local_similarity=0.5)],
            a_sha256="a" * 64,
            b_sha256="b" * 64,
        )  # fmt: skip

    async def Compare(self, request, context):  # noqa: N802
        return self._response


def run_server(port: int, loop: str, kind: str) -> int:
    if loop == "uvloop":
        import uvloop

        uvloop.run(serve(port, kind))
    else:
        asyncio.run(serve(port, kind))
    return 0


def measure(
    loop: str, body_bytes: int, args: argparse.Namespace, message: bytes | None = None
) -> dict:
    """Figures of one server: `message` given = the compare kind with that request."""
    from asen.triton.ports import free_port

    kind = "empty" if message is None else "compare"
    body = b"x" * body_bytes if message is None else message
    method = METHOD if message is None else "/asen.v1.FashionSimilarity/Compare"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--loop", loop, "--kind", kind],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "serving":
            raise RuntimeError("the floor server did not start")
        address = f"127.0.0.1:{port}"
        with grpc.insecure_channel(address) as channel:  # one real call first
            channel.unary_unary(method)(body, timeout=10)
        result = h2load_grpc.run(
            address,
            method,
            body,
            args.seconds,
            args.clients,
            args.streams,
            warm_up=2,
            pid=server.pid,
            rate=getattr(args, "rate", None),
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {"kind": kind, "loop": loop, "body_bytes": len(body), **asdict(result)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help="run the server alone on this port")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--kind", choices=("empty", "compare"), default="empty")
    parser.add_argument("--loops", nargs="+", default=["asyncio", "uvloop"])
    parser.add_argument("--body-bytes", type=int, nargs="+", default=[0, 20000])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.serve:
        return run_server(args.serve, args.loop, args.kind)
    loops = [loop for loop in args.loops if loop != "uvloop" or _has_uvloop()]
    results = [measure(loop, size, args) for size in args.body_bytes for loop in loops]
    compare = _compare_request()
    results += [measure(loop, 0, args, compare) for loop in loops]
    print(f"grpc.aio floor, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'kind':8s} {'loop':8s} {'body B':>7s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} "
          f"{'CPU ms/call':>12s}")  # fmt: skip
    for r in results:
        print(
            f"{r['kind']:8s} {r['loop']:8s} {r['body_bytes']:7d} {r['requests_per_s']:8.0f} "
            f"{r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['server_cpu_ms_per_request']:12.3f}"
        )
    if args.json:
        print(
            json.dumps(
                {"floor": results, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            )
        )
    return 0


def _compare_request() -> bytes:
    """A Compare of two 256-pixel-wide JPEGs, one attribute (as loadtests/bench_gateway.py)."""
    from bench_gateway import make_images

    from gateway.generated.asen.v1 import similarity_pb2 as pb

    a, b = make_images(2, 256, seed=2)
    request = pb.CompareRequest(
        a=pb.ImageRef(data=a), b=pb.ImageRef(data=b), attributes=["collar_design"]
    )
    return request.SerializeToString()


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
