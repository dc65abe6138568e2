"""Gateway benchmark: one run, figures side by side (see docs/gateway.md, "Benchmark").

Starts a real tritonserver on a model repository (a small untrained ASEN++ is exported when
--repository is not given), a redis-server (unless --cache memory) and `python -m gateway`, then
drives closed-loop load at a fixed concurrency from asyncio gRPC clients and prints:

  1. Compare with both embeddings cached: throughput, p50, p99;
  2. Embed (every image new, so computed) through the gateway vs the same load sent directly
     to Triton: throughput ratio (target: the gateway keeps >= 90% of Triton's throughput);
  3. the cache path vs the compute path: Embed of a cached image vs of a new one.

    python loadtests/bench_gateway.py [--repository DIR] [--seconds 5] [--rounds 3]
        [--concurrency 16] [--cache redis|memory] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import numpy as np
import tritonclient.grpc.aio as triton_aio
from PIL import Image
from tritonclient.grpc import InferInput, InferRequestedOutput

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asen.triton.launcher import TritonServer  # noqa: E402
from asen.triton.ports import free_port, free_ports  # noqa: E402
from asen_contract.tensors import ATTRIBUTE, EMBEDDING, ENSEMBLE, IMAGE, ROI  # noqa: E402
from gateway.generated.asen.v1 import similarity_pb2 as pb  # noqa: E402
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc  # noqa: E402


@dataclass
class Figures:
    scenario: str
    requests: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    gateway_cpu_ms_per_request: float


@dataclass
class Run:
    latencies: list[float]
    completed: int  # calls completed inside the measuring window
    seconds: float  # length of the window
    gateway_cpu: float = 0.0  # CPU seconds the gateway process used during the run


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), to measure the gateway's own cost."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def closed_loop(
    call: Callable[[int], Awaitable[object]],
    concurrency: int,
    seconds: float,
    indices: Iterator[int],
) -> Run:
    """`concurrency` workers call back-to-back for `seconds` (or until `indices` run out).

    Throughput counts the calls completed inside the window only, so the calls still in flight
    when it closes (seconds long under a saturated Triton) do not stretch the measurement.
    """
    latencies: list[float] = []
    finished: list[float] = []
    started = time.perf_counter()
    stop_at = started + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            index = next(indices, None)
            if index is None:
                return
            begun = time.perf_counter()
            await call(index)
            now = time.perf_counter()
            latencies.append(now - begun)
            finished.append(now)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    window_end = min(stop_at, max(finished, default=stop_at))
    in_window = sum(1 for t in finished if t <= window_end)
    return Run(latencies, in_window, window_end - started)


def summarize(name: str, runs: list[Run]) -> Figures:
    latencies = [x for run in runs for x in run.latencies]
    completed = sum(run.completed for run in runs)
    seconds = sum(run.seconds for run in runs)
    ms = np.asarray(latencies) * 1000
    cpu = sum(run.gateway_cpu for run in runs)
    return Figures(
        name,
        len(latencies),
        round(seconds, 2),
        round(completed / seconds, 1),
        round(float(np.percentile(ms, 50)), 2),
        round(float(np.percentile(ms, 99)), 2),
        round(1000 * cpu / max(1, len(latencies)), 2),
    )


def make_images(count: int, size: int, seed: int) -> list[bytes]:
    """Distinct JPEGs (smooth random colour fields, like photos in size, not in content)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        small = rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((size, size * 4 // 3), Image.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        images.append(buffer.getvalue())
    return images


def export_small_model(directory: Path) -> Path:
    import torch

    from asen.checkpoint import AttributeSpec, load_checkpoint, save_checkpoint
    from asen.export.repository import export_repository
    from asen.export.settings import ExportSettings
    from asen.model.config import ModelConfig
    from asen.model.network import ASEN

    torch.manual_seed(0)
    config = ModelConfig(
        num_attributes=4,
        global_backbone="tiny",
        local_backbone="tiny",
        attribute_embed_size=64,
        embed_size=128,
        global_common_size=64,
        local_common_size=64,
    )
    names = ["collar_design", "neckline_design", "sleeve_length", "lapel_design"]
    attributes = [AttributeSpec(n, 4, None) for n in names]
    checkpoint = directory / "bench.pt"
    save_checkpoint(checkpoint, ASEN(config), attributes)
    repository = directory / "repository"
    export_repository(load_checkpoint(checkpoint), repository, ExportSettings(target="cpu"))
    return repository


class Services:
    """tritonserver + (redis-server) + `python -m gateway`, stopped in reverse order."""

    def __init__(self, repository: Path, cache: str, workdir: Path) -> None:
        self.repository, self.cache, self.workdir = repository, cache, workdir
        self.triton: TritonServer | None = None
        self.redis: subprocess.Popen | None = None
        self.gateway: subprocess.Popen | None = None
        self.gateway_address = ""

    def start(self) -> None:
        http, grpc_port, metrics = free_ports(3)
        self.triton = TritonServer(
            self.repository, http, grpc_port, metrics, log_path=self.workdir / "triton.log"
        )
        self.triton.start(timeout=600)
        env = {**os.environ, "ASEN_TRITON_URLS": self.triton.grpc_url, "ASEN_LOG_LEVEL": "WARNING"}
        if self.cache == "redis":
            redis_port = free_port()
            self.redis = subprocess.Popen(
                [shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            env["ASEN_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        port = free_port()
        env |= {"ASEN_GRPC_PORT": str(port), "ASEN_METRICS_PORT": str(free_port())}
        env["ASEN_MAX_IN_FLIGHT"] = "1024"
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway"],
            env=env,
            cwd=ROOT,
            stderr=open(self.workdir / "gateway.log", "wb"),  # noqa: SIM115
        )
        self.gateway_address = f"127.0.0.1:{port}"

    def stop(self) -> None:
        for process in (self.gateway, self.redis):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        if self.triton is not None:
            self.triton.stop()


async def wait_serving(stub: pb_grpc.FashionSimilarityStub) -> pb.ListAttributesResponse:
    deadline = time.monotonic() + 120
    while True:
        try:
            return await stub.ListAttributes(pb.ListAttributesRequest(), timeout=2)
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run(args: argparse.Namespace, services: Services) -> list[Figures]:
    options = [("grpc.max_receive_message_length", 64 << 20)]
    channel = grpc.aio.insecure_channel(services.gateway_address, options=options)
    stub = pb_grpc.FashionSimilarityStub(channel)
    model = await wait_serving(stub)
    attribute = model.attributes[0].name
    triton = triton_aio.InferenceServerClient(services.triton.grpc_url)
    images = make_images(args.images, args.image_size, seed=1)
    cached_pairs = make_images(2 * args.cached_pairs, args.image_size, seed=2)
    fresh = iter(images)

    async def embed_gateway(data: bytes) -> None:
        request = pb.EmbedRequest(image=pb.ImageRef(data=data), attributes=[attribute])
        await stub.Embed(request, timeout=60)

    async def embed_triton(data: bytes) -> None:
        image = InferInput(IMAGE, [1, 1], "BYTES")
        image.set_data_from_numpy(np.array([[data]], dtype=object))
        ids = InferInput(ATTRIBUTE, [1, 1], "INT32")
        ids.set_data_from_numpy(np.zeros((1, 1), dtype=np.int32))
        outputs = [InferRequestedOutput(EMBEDDING), InferRequestedOutput(ROI)]
        await triton.infer(ENSEMBLE, [image, ids], outputs=outputs, client_timeout=60)

    async def compare(index: int) -> None:
        pair = index % args.cached_pairs
        request = pb.CompareRequest(
            a=pb.ImageRef(data=cached_pairs[2 * pair]),
            b=pb.ImageRef(data=cached_pairs[2 * pair + 1]),
            attributes=[attribute],
        )
        await stub.Compare(request, timeout=60)

    # warm-up: both paths, and fill the cache for the cached scenarios
    for data in itertools.islice(fresh, 20):
        await embed_gateway(data)
        await embed_triton(data)
    await asyncio.gather(*(compare(i) for i in range(args.cached_pairs)))

    async def measured(*args) -> Run:
        before = process_cpu_seconds(services.gateway.pid)
        run = await closed_loop(*args)
        run.gateway_cpu = process_cpu_seconds(services.gateway.pid) - before
        return run

    gateway_new = itertools.count()  # a new image for every gateway call...
    triton_new = itertools.count()  # ...and for every direct call: nothing is cached
    images = list(fresh)
    c, s = args.concurrency, args.seconds
    runs: dict[str, list[Run]] = {name: [] for name in SCENARIOS}
    for round_number in range(args.rounds):
        # alternate the order so that drift (warm-up, other load) hits both sides alike
        pair = [("direct", triton_new, embed_triton), ("gateway", gateway_new, embed_gateway)]
        if round_number % 2:
            pair.reverse()
        for name, counter, embed in pair:
            indices = itertools.takewhile(lambda i: i < len(images) // 2, counter)
            offset = 0 if name == "gateway" else len(images) // 2
            runs[name].append(
                await measured(lambda i, e=embed, o=offset: e(images[o + i]), c, s, indices)
            )
        runs["compare"].append(await measured(compare, c, s, itertools.count()))
        runs["cached"].append(
            await measured(
                lambda i: embed_gateway(cached_pairs[i % len(cached_pairs)]),
                c,
                s,
                itertools.count(),
            )
        )
    figures = [summarize(label, runs[name]) for name, label in SCENARIOS.items()]
    await channel.close()
    await triton.close()
    return figures


SCENARIOS = {
    "compare": "Compare, both embeddings cached",
    "direct": "Embed via Triton directly (computed)",
    "gateway": "Embed via gateway (new image: computed)",
    "cached": "Embed via gateway (cached image)",
}


def report(figures: list[Figures], args: argparse.Namespace) -> None:
    print(
        f"\nconcurrency {args.concurrency}, {args.rounds} rounds of {args.seconds:g} s per "
        f"scenario, cache {args.cache}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'scenario':44s} {'requests':>9s} {'req/s':>9s} {'p50 ms':>9s} {'p99 ms':>9s} "
        f"{'gateway CPU ms/req':>19s}"
    )
    for f in figures:
        print(
            f"{f.scenario:44s} {f.requests:9d} {f.throughput:9.1f} {f.p50_ms:9.2f} "
            f"{f.p99_ms:9.2f} {f.gateway_cpu_ms_per_request:19.2f}"
        )
    compare, direct, computed, cached = figures
    ratio = computed.throughput / direct.throughput
    verdict = "meets" if ratio >= 0.9 else "MISSES"
    print(f"\ngateway / Triton Embed throughput: {100 * ratio:.1f}% ({verdict} the 90% target)")
    print(
        f"cache path vs compute path (Embed p50): {cached.p50_ms:.2f} ms vs "
        f"{computed.p50_ms:.2f} ms ({computed.p50_ms / cached.p50_ms:.1f}x faster), "
        f"throughput {cached.throughput:.0f} vs {computed.throughput:.0f} req/s"
    )
    if args.json:
        print(json.dumps({"figures": [asdict(f) for f in figures], "gateway_ratio": ratio}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", type=Path, help="Triton model repository to serve")
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--images", type=int, default=6000, help="distinct images to send")
    parser.add_argument("--image-size", type=int, default=256, help="image width in pixels")
    parser.add_argument("--cached-pairs", type=int, default=32)
    parser.add_argument("--cache", choices=("redis", "memory"), default="redis")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as workdir:
        work = Path(workdir)
        repository = args.repository
        if repository is None:
            print("exporting a small untrained ASEN++ ...", file=sys.stderr)
            repository = export_small_model(work)
        services = Services(repository, args.cache, work)
        try:
            print("starting tritonserver, redis-server and the gateway ...", file=sys.stderr)
            services.start()
            figures = asyncio.run(run(args, services))
        finally:
            services.stop()
    report(figures, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
