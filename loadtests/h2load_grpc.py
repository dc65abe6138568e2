"""gRPC unary calls driven by h2load (Debian's nghttp2-client), a C HTTP/2 load generator, so the
load generator does not take the measured server's CPU the way a Python client would.

A gRPC unary call over h2c is a POST of one length-prefixed message (a 5-byte frame: a zero
flag byte and the big-endian length) with `content-type: application/grpc` and `te: trailers`.
The body is built once and sent for every call. h2load counts HTTP statuses only, not gRPC's
status trailer, so a caller checks the same request once with a real gRPC client first (and,
for the gateway, compares its request counter with h2load's count). Latency percentiles come
from h2load's per-request log (`--log-file`), the server's CPU from /proc when its pid is given.

    python loadtests/h2load_grpc.py --address 127.0.0.1:50051 \
        --method /asen.v1.FashionSimilarity/Compare --message compare.bin \
        [--seconds 10] [--clients 2] [--streams 8] [--rate CALLS_PER_S] [--pid GATEWAY_PID]
        [--json]

(`--message` is the serialized request message, without the frame.) Installed by
scripts/install_tools.sh (`make tools`) or `apt-get install nghttp2-client`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class H2Result:
    method: str
    seconds: float  # measuring window (after the warm-up)
    clients: int
    streams: int  # concurrent streams per client: clients x streams calls in flight
    offered_per_s: (
        float | None
    )  # the offered rate (h2load --rps over all clients); None: closed loop
    requests_per_s: float
    succeeded: int
    failed: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    server_cpu_ms_per_request: float | None  # None without a pid


def grpc_frame(message: bytes) -> bytes:
    """One gRPC message on the wire: not compressed, 4-byte big-endian length, the bytes."""
    return struct.pack(">BI", 0, len(message)) + message


def available() -> bool:
    return shutil.which("h2load") is not None


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its finished children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    address: str,
    method: str,
    message: bytes,
    seconds: float = 10,
    clients: int = 2,
    streams: int = 8,
    warm_up: float = 2,
    pid: int | None = None,
    rate: float | None = None,
) -> H2Result:
    """h2load for `warm_up` + `seconds` against `address` (h2c); figures of the window only.

    Without `rate` each client keeps `streams` calls in flight (the capacity); with it the
    clients together offer `rate` calls/s (open loop, `streams` in flight at most), the load at
    which a latency target is stated. h2load times a call from its send, so a call that waits
    for a free stream is not counted waiting: keep `streams` well above rate x latency."""
    binary = shutil.which("h2load")
    if binary is None:
        raise RuntimeError("h2load is not installed (Debian package nghttp2-client)")
    with tempfile.TemporaryDirectory(prefix="h2load-") as folder:
        body = Path(folder) / "body.bin"
        body.write_bytes(grpc_frame(message))
        log = Path(folder) / "requests.tsv"
        command = [
            binary, f"http://{address}{method}", "-d", str(body),
            "-H", "content-type: application/grpc", "-H", "te: trailers",
            "-c", str(clients), "-m", str(streams), "-t", "1",
            "-D", str(int(round(seconds))), "--warm-up-time", str(int(round(warm_up))),
            "--log-file", str(log),
        ]  # fmt: skip
        if rate is not None:
            command.append(f"--rps={rate / clients:g}")
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        cpu_before = None
        if pid is not None:
            # The window starts after the warm-up: sample the server's CPU from then on.
            time.sleep(warm_up)
            cpu_before = process_cpu_seconds(pid)
        output, _ = process.communicate(timeout=seconds + warm_up + 120)
        cpu = None if cpu_before is None else process_cpu_seconds(pid) - cpu_before
        if process.returncode != 0:
            raise RuntimeError(f"h2load failed ({process.returncode}):\n{output}")
        latencies = _latencies_ms(log)
    return parse(output, method, seconds, clients, streams, latencies, cpu, rate)


def parse(
    output: str,
    method: str,
    seconds: float,
    clients: int,
    streams: int,
    latencies_ms: np.ndarray,
    server_cpu_seconds: float | None,
    rate: float | None = None,
) -> H2Result:
    achieved = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    counts = re.search(r"(\d+) succeeded, (\d+) failed", output)
    if achieved is None or counts is None:
        raise RuntimeError(f"unexpected h2load output:\n{output}")
    succeeded = int(counts.group(1))
    percentiles = (
        np.percentile(latencies_ms, [50, 90, 99]) if latencies_ms.size else [float("nan")] * 3
    )
    cpu_ms = None
    if server_cpu_seconds is not None and succeeded:
        cpu_ms = round(1000 * server_cpu_seconds / succeeded, 3)
    return H2Result(
        method=method,
        seconds=seconds,
        clients=clients,
        streams=streams,
        offered_per_s=rate,
        requests_per_s=float(achieved.group(1)),
        succeeded=succeeded,
        failed=int(counts.group(2)),
        p50_ms=round(float(percentiles[0]), 2),
        p90_ms=round(float(percentiles[1]), 2),
        p99_ms=round(float(percentiles[2]), 2),
        server_cpu_ms_per_request=cpu_ms,
    )


def _latencies_ms(log: Path) -> np.ndarray:
    """h2load's log: start time (us since the epoch), HTTP status, duration (us) per request."""
    durations = []
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1] == "200":
                durations.append(int(parts[2]) / 1000)
    return np.asarray(durations, dtype=np.float64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="HOST:PORT of a plaintext gRPC server")
    parser.add_argument("--method", required=True, help="/package.Service/Method")
    parser.add_argument("--message", type=Path, required=True, help="serialized request message")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warm-up", type=float, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--streams", type=int, default=8, help="concurrent calls per client")
    parser.add_argument("--pid", type=int, help="server process: report its CPU per request")
    parser.add_argument("--rate", type=float, help="offered calls/s over all clients (open loop)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(
        args.address,
        args.method,
        args.message.read_bytes(),
        args.seconds,
        args.clients,
        args.streams,
        args.warm_up,
        args.pid,
        args.rate,
    )
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        for name, value in asdict(result).items():
            print(f"{name:28s} {value}")
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
