"""Raw capacity of one gateway for cached Compare calls, measured with h2load (Debian package
nghttp2-client), a C HTTP/2 load generator, so the client does not take the gateway's CPU.

gRPC over h2c is a POST of one length-prefixed message (5-byte frame: a zero flag byte and the
big-endian length) with `content-type: application/grpc` and `te: trailers`. h2load counts
HTTP statuses only, not gRPC's status trailer, so the same request is first checked once with a
real gRPC client: if it succeeds there, every h2load request does the same work.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import grpc

from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Capacity:
    requests_per_s: float
    succeeded: int
    failed: int
    seconds: float
    clients: int
    streams: int
    mean_ms: float


def grpc_frame(message: bytes) -> bytes:
    return struct.pack(">BI", 0, len(message)) + message


def measure(
    address: str, request: pb.CompareRequest, seconds: int = 10, clients: int = 4, streams: int = 8
) -> Capacity | None:
    """h2load against `address` for `seconds`; None when h2load is not installed."""
    binary = shutil.which("h2load")
    if binary is None:
        return None
    with grpc.insecure_channel(address) as channel:  # the request must succeed first
        pb_grpc.FashionSimilarityStub(channel).Compare(request, timeout=30)
    with tempfile.TemporaryDirectory() as folder:
        body = Path(folder) / "compare.bin"
        body.write_bytes(grpc_frame(request.SerializeToString()))
        result = subprocess.run(
            [binary, f"http://{address}/asen.v1.FashionSimilarity/Compare",
             "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
             "-c", str(clients), "-m", str(streams), "-D", str(seconds),
             "--warm-up-time", "2"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )  # fmt: skip
    return parse(result.stdout, seconds, clients, streams)


def parse(output: str, seconds: float, clients: int, streams: int) -> Capacity:
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    counts = re.search(r"(\d+) succeeded, (\d+) failed", output)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", output)
    if rate is None or counts is None:
        raise RuntimeError(f"unexpected h2load output:\n{output}")
    return Capacity(
        requests_per_s=float(rate.group(1)),
        succeeded=int(counts.group(1)),
        failed=int(counts.group(2)),
        seconds=seconds,
        clients=clients,
        streams=streams,
        mean_ms=_ms(mean.group(1)) if mean else float("nan"),
    )


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    if text.endswith("us"):
        return value / 1000
    return value * 1000 if text.endswith("s") and not text.endswith("ms") else value
