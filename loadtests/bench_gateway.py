"""Gateway benchmark: one run, figures side by side (see docs/gateway.md, "Performance").

Starts a real tritonserver on a model repository (a small untrained ASEN++ is exported when
--repository is not given; --full-size exports a random-init full-size one), a redis-server
(unless --cache memory) and `python -m gateway`, then prints:

  1. Compare with both embeddings cached, driven by h2load (a C load generator: the gateway's
     CPU per call, calls/s, p50/p99), beside the floor: an empty grpc.aio call of the same
     request size on the same machine (loadtests/grpc_floor.py), and Embed of a cached image;
     then cached Compares offered at a fixed rate (--h2load-rate, 2,000 calls/s: the load a
     latency target is stated at) for p50/p99 at that load, beside the floor at the same rate;
  2. closed-loop load from asyncio gRPC clients at a fixed concurrency: cached Compare, Embed of
     new images (computed) through the gateway vs the same load sent directly to Triton
     (throughput ratio), Embed of a cached image.

With --baseline DIR (a checkout of another version of this repository, e.g.
`git worktree add build/baseline main`, with its generated protos: `cp -r gateway/generated
build/baseline/gateway/`) a second gateway runs that version's code against the same Triton and
Redis, and every scenario is measured on both, alternating their order per round, so a change
is judged before/after in one run on the same machine.

    python loadtests/bench_gateway.py [--repository DIR | --full-size] [--seconds 5] [--rounds 3]
        [--concurrency 16] [--cache redis|memory] [--h2load-seconds 8] [--baseline DIR]
        [--out report.json] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
sys.path.insert(0, str(ROOT / "loadtests"))

import grpc_floor  # noqa: E402
import h2load_grpc  # noqa: E402

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
    triton_cpu_ms_per_request: float = 0.0


@dataclass
class Run:
    latencies: list[float]
    completed: int  # calls completed inside the measuring window
    seconds: float  # length of the window
    gateway_cpu: float = 0.0  # CPU seconds the gateway process used during the run
    triton_cpu: float = 0.0  # CPU seconds of tritonserver and its backend processes


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), to measure the gateway's own cost."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its live descendants (tritonserver and the Python
    backend's stub processes)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grown = {pid}, True
    while grown:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    total = 0.0
    for member in tree:
        with contextlib.suppress(OSError):
            total += process_cpu_seconds(member)
    return total


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
    triton_cpu = sum(run.triton_cpu for run in runs)
    return Figures(
        name,
        len(latencies),
        round(seconds, 2),
        round(completed / seconds, 1),
        round(float(np.percentile(ms, 50)), 2),
        round(float(np.percentile(ms, 99)), 2),
        round(1000 * cpu / max(1, len(latencies)), 2),
        round(1000 * triton_cpu / max(1, len(latencies)), 1),
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


def export_full_size_model(directory: Path) -> Path:
    """A random-init full-size ASEN++ (ResNet-50 224 / ResNet-34 112): speed does not depend on
    the weights."""
    from bench_models import random_checkpoint

    from asen.checkpoint import load_checkpoint
    from asen.export.repository import export_repository
    from asen.export.settings import ExportSettings

    checkpoint = random_checkpoint(directory / "full.pt")
    repository = directory / "repository"
    export_repository(load_checkpoint(checkpoint), repository, ExportSettings(target="cpu"))
    return repository


class GatewayProcess:
    """`python -m gateway` of one checkout (`root`): this one, or a baseline to compare with."""

    def __init__(self, name: str, root: Path, env: dict[str, str], log: Path) -> None:
        self.name, self.root = name, root
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.metrics_port = free_port()
        env = env | {"ASEN_GRPC_PORT": str(port), "ASEN_METRICS_PORT": str(self.metrics_port)}
        # The checkout's own packages come first (the working directory is on sys.path).
        env["PYTHONPATH"] = str(root)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway"],
            env=env,
            cwd=root,
            stderr=open(log, "wb"),  # noqa: SIM115
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def requests(self, method: str, code: str = "OK") -> float:
        """asen_gateway_requests_total{method, code} from the gateway's /metrics."""
        import urllib.request

        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        wanted = f'asen_gateway_requests_total{{code="{code}",method="{method}"}} '
        for line in text.splitlines():
            if line.startswith(wanted):
                return float(line.split()[-1])
        return 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


class Services:
    """tritonserver + (redis-server) + one gateway per checkout, stopped in reverse order."""

    def __init__(
        self,
        repository: Path,
        cache: str,
        workdir: Path,
        roots: dict[str, tuple[Path, str]],
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.repository, self.cache, self.workdir, self.roots = repository, cache, workdir, roots
        self.extra_env = extra_env or {}
        self.triton: TritonServer | None = None
        self.redis: subprocess.Popen | None = None
        self.gateways: dict[str, GatewayProcess] = {}

    def start(self) -> None:
        http, grpc_port, metrics = free_ports(3)
        self.triton = TritonServer(
            self.repository, http, grpc_port, metrics, log_path=self.workdir / "triton.log"
        )
        self.triton.start(timeout=900)
        env = {**os.environ, "ASEN_TRITON_URLS": self.triton.grpc_url, "ASEN_LOG_LEVEL": "WARNING"}
        env["ASEN_CATALOGUE_URI"] = ""  # not measured here (loadtests/bench_catalogue.py)
        env["ASEN_MAX_IN_FLIGHT"] = "1024"
        if self.cache == "redis":
            redis_port = free_port()
            self.redis = subprocess.Popen(
                [shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            env["ASEN_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        env |= self.extra_env
        for name, (root, loop) in self.roots.items():
            log = self.workdir / f"gateway-{name}.log"
            self.gateways[name] = GatewayProcess(name, root, env | {"ASEN_EVENT_LOOP": loop}, log)

    def stop(self) -> None:
        for gateway in self.gateways.values():
            gateway.stop()
        if self.redis is not None:
            self.redis.send_signal(signal.SIGTERM)
            self.redis.wait(timeout=60)
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


SCENARIOS = {
    "compare": "Compare, both embeddings cached",
    "gateway": "Embed via gateway (new image: computed)",
    "cached": "Embed via gateway (cached image)",
}
DIRECT = "Embed via Triton directly (computed)"


async def run(args: argparse.Namespace, services: Services) -> dict:
    options = [("grpc.max_receive_message_length", 64 << 20)]
    channels = {
        name: grpc.aio.insecure_channel(g.address, options=options)
        for name, g in services.gateways.items()
    }
    stubs = {name: pb_grpc.FashionSimilarityStub(c) for name, c in channels.items()}
    for stub in stubs.values():
        model = await wait_serving(stub)
    attribute = model.attributes[0].name
    triton = triton_aio.InferenceServerClient(services.triton.grpc_url)
    images = make_images(args.images, args.image_size, seed=1)
    cached_pairs = make_images(2 * args.cached_pairs, args.image_size, seed=2)
    fresh = iter(images)

    def compare_request(pair: int) -> pb.CompareRequest:
        return pb.CompareRequest(
            a=pb.ImageRef(data=cached_pairs[2 * pair]),
            b=pb.ImageRef(data=cached_pairs[2 * pair + 1]),
            attributes=[attribute],
        )

    async def embed_gateway(stub, data: bytes) -> None:
        request = pb.EmbedRequest(image=pb.ImageRef(data=data), attributes=[attribute])
        await stub.Embed(request, timeout=600)

    async def embed_triton(data: bytes) -> None:
        image = InferInput(IMAGE, [1, 1], "BYTES")
        image.set_data_from_numpy(np.array([[data]], dtype=object))
        ids = InferInput(ATTRIBUTE, [1, 1], "INT32")
        ids.set_data_from_numpy(np.zeros((1, 1), dtype=np.int32))
        outputs = [InferRequestedOutput(EMBEDDING), InferRequestedOutput(ROI)]
        await triton.infer(ENSEMBLE, [image, ids], outputs=outputs, client_timeout=600)

    # warm-up: both paths, and fill the cache for the cached scenarios (every gateway)
    for data in itertools.islice(fresh, args.warm_up_images):
        await embed_triton(data)
        for stub in stubs.values():
            await embed_gateway(stub, data)
    for stub in stubs.values():
        await asyncio.gather(
            *(stub.Compare(compare_request(i), timeout=600) for i in range(args.cached_pairs))
        )

    report: dict = {"h2load": {}, "closed_loop": {}}
    if args.h2load_seconds > 0:
        report["h2load"] = h2load_scenarios(args, services, compare_request(0), attribute,
                                            cached_pairs[0])  # fmt: skip

    triton_pid = services.triton.pid

    async def measured(pid: int | None, *loop_args) -> Run:
        before = process_cpu_seconds(pid) if pid else 0.0
        triton_before = tree_cpu_seconds(triton_pid)
        result = await closed_loop(*loop_args)
        result.gateway_cpu = (process_cpu_seconds(pid) - before) if pid else 0.0
        result.triton_cpu = tree_cpu_seconds(triton_pid) - triton_before
        return result

    images = list(fresh)
    sides = list(services.gateways)
    unused = itertools.count()  # every computed call takes an image never sent before

    def new_images() -> Iterator[int]:
        return itertools.takewhile(lambda i: i < len(images), unused)

    def direct_call(i: int) -> Awaitable[None]:
        return embed_triton(images[i])

    c, s = args.concurrency, args.seconds
    runs: dict[str, dict[str, list[Run]]] = {
        name: {scenario: [] for scenario in SCENARIOS} for name in sides
    }
    runs["direct"] = {"direct": []}
    for round_number in range(args.rounds):
        # alternate the order so that drift (warm-up, other load) hits every side alike
        order = [*sides, "direct"]
        if round_number % 2:
            order.reverse()
        for name in order:
            if name == "direct":
                runs["direct"]["direct"].append(
                    await measured(None, direct_call, c, s, new_images())
                )
                continue
            stub, pid = stubs[name], services.gateways[name].pid
            call = lambda i, st=stub: embed_gateway(st, images[i])  # noqa: E731
            runs[name]["gateway"].append(await measured(pid, call, c, s, new_images()))
        for name in sides if round_number % 2 == 0 else reversed(sides):
            stub, pid = stubs[name], services.gateways[name].pid

            async def compare(i: int, st=stub) -> None:
                await st.Compare(compare_request(i % args.cached_pairs), timeout=60)

            async def cached(i: int, st=stub) -> None:
                await embed_gateway(st, cached_pairs[i % len(cached_pairs)])

            cs = args.cached_seconds or s
            runs[name]["compare"].append(await measured(pid, compare, c, cs, itertools.count()))
            runs[name]["cached"].append(await measured(pid, cached, c, cs, itertools.count()))
    paired = {}
    for name in sides if args.paired_seconds > 0 else []:
        # Half the workers through this gateway, half straight to Triton, at the same time:
        # both halves meet the same Triton and the same machine load, so the ratio of their
        # completions is what the gateway's path costs in latency, free of drift between
        # windows (its CPU, shared with Triton, slows both halves alike: see the CPU figures).
        stub = stubs[name]
        via = lambda i, st=stub: embed_gateway(st, images[i])  # noqa: E731
        half = max(1, c // 2)
        through, straight = await asyncio.gather(
            closed_loop(via, half, args.paired_seconds, new_images()),
            closed_loop(direct_call, half, args.paired_seconds, new_images()),
        )
        if not (through.completed and straight.completed):
            print(f"{name}: paired run ran out of new images (raise --images)", file=sys.stderr)
        paired[name] = {
            "gateway_completed": through.completed,
            "direct_completed": straight.completed,
            "ratio": round(through.completed / straight.completed, 3)
            if through.completed and straight.completed
            else None,
            "seconds": args.paired_seconds,
            "workers_each": half,
        }
    report["paired_embed"] = paired
    if args.rounds == 0:  # h2load figures only
        sides = []
    else:
        direct = summarize(DIRECT, runs["direct"]["direct"])
        report["closed_loop"]["direct"] = asdict(direct)
    for name in sides:
        figures = [summarize(label, runs[name][key]) for key, label in SCENARIOS.items()]
        computed = figures[1]
        # On a machine whose CPUs Triton saturates, what the gateway's own CPU per computed
        # Embed leaves of Triton's capacity (independent of the noise between windows).
        triton_ms = direct.triton_cpu_ms_per_request
        bound = triton_ms / (triton_ms + computed.gateway_cpu_ms_per_request) if triton_ms else 0
        report["closed_loop"][name] = {
            "figures": [asdict(f) for f in figures],
            "embed_vs_direct_triton": round(computed.throughput / direct.throughput, 3),
            "embed_cpu_bound_vs_direct": round(bound, 4),
        }
    for channel in channels.values():
        await channel.close()
    await triton.close()
    return report


def h2load_scenarios(
    args: argparse.Namespace,
    services: Services,
    compare: pb.CompareRequest,
    attribute: str,
    cached_image: bytes,
) -> dict:
    """Cached Compare and cached Embed with h2load per gateway (alternating), and the floor."""
    if not h2load_grpc.available():
        print("h2load is not installed (nghttp2-client): skipping its figures", file=sys.stderr)
        return {}
    embed = pb.EmbedRequest(image=pb.ImageRef(data=cached_image), attributes=[attribute])
    calls = {
        "Compare": (compare.SerializeToString(), "/asen.v1.FashionSimilarity/Compare"),
        "Embed": (embed.SerializeToString(), "/asen.v1.FashionSimilarity/Embed"),
    }
    results: dict = {name: {} for name in services.gateways}
    floor_args = argparse.Namespace(
        seconds=args.h2load_seconds, clients=args.h2load_clients, streams=args.h2load_streams
    )
    results["floor"] = []
    names = list(services.gateways)
    for round_number in range(args.h2load_rounds):
        order = names if round_number % 2 == 0 else list(reversed(names))
        for name in order:
            gateway = services.gateways[name]
            for method, (message, path) in calls.items():
                before = gateway.requests(method)
                result = h2load_grpc.run(
                    gateway.address, path, message, args.h2load_seconds,
                    args.h2load_clients, args.h2load_streams, warm_up=2, pid=gateway.pid,
                )  # fmt: skip
                answered_ok = gateway.requests(method) - before  # gRPC status OK, warm-up too
                entry = asdict(result) | {"grpc_ok_including_warm_up": answered_ok}
                results[name].setdefault(method, []).append(entry)
            if args.h2load_rate > 0:  # the latency at the target's load, not at saturation
                message, path = calls["Compare"]
                result = h2load_grpc.run(
                    gateway.address, path, message, args.h2load_seconds, args.h2load_clients,
                    args.h2load_rate_streams, warm_up=2, pid=gateway.pid, rate=args.h2load_rate,
                )  # fmt: skip
                results[name].setdefault(f"Compare @{args.h2load_rate:g}/s", []).append(
                    asdict(result)
                )
        for loop in args.floor_loops:
            message = calls["Compare"][0]
            results["floor"].append(grpc_floor.measure(loop, len(message), floor_args))
            results["floor"].append(grpc_floor.measure(loop, 0, floor_args, message))
            if args.h2load_rate > 0:
                rated = argparse.Namespace(
                    seconds=args.h2load_seconds, clients=args.h2load_clients,
                    streams=args.h2load_rate_streams, rate=args.h2load_rate,
                )  # fmt: skip
                results["floor"].append(grpc_floor.measure(loop, 0, rated, message))
    return results


def summarize_h2load(entries: list[dict]) -> dict:
    """Rounds of one scenario: the median of each figure (rounds are listed beside it)."""
    keys = ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_request")
    return {k: round(float(np.median([e[k] for e in entries])), 3) for k in keys}


def report_text(report: dict, args: argparse.Namespace) -> None:
    print(
        f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end, cache "
        f"{args.cache}, model {'full size' if args.full_size else 'small'}"
    )
    h2 = report.get("h2load") or {}
    if h2:
        print(
            f"\nh2load, {args.h2load_clients} connections x {args.h2load_streams} streams, "
            f"{args.h2load_rounds} rounds of {args.h2load_seconds:g} s (median of rounds)"
        )
        print(f"{'side':16s} {'call':24s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} "
              f"{'CPU ms/call':>12s}")  # fmt: skip
        rows = [(n, m, summarize_h2load(e)) for n in h2 if n != "floor" for m, e in h2[n].items()]
        labels = {
            ("empty", False): "empty call",
            ("compare", False): "fixed Compare",
            ("compare", True): f"fixed Compare @{args.h2load_rate:g}/s",
        }
        for (kind, rated), label in labels.items():
            for loop in args.floor_loops:
                floors = [
                    f for f in h2["floor"]
                    if (f["loop"], f["kind"], f["offered_per_s"] is not None) == (loop, kind, rated)
                ]  # fmt: skip
                if floors:
                    rows.append(("floor", f"{label}, {loop}", summarize_h2load(floors)))
        for name, method, f in rows:
            print(
                f"{name:16s} {method + (' (cached)' if name != 'floor' else ''):24s} "
                f"{f['requests_per_s']:8.0f} {f['p50_ms']:7.2f} {f['p99_ms']:7.2f} "
                f"{f['server_cpu_ms_per_request']:12.3f}"
            )
    loop = report["closed_loop"]
    if not loop:
        return
    print(
        f"\nclosed loop from Python clients, concurrency {args.concurrency}, {args.rounds} rounds "
        f"of {args.seconds:g} s"
    )
    print(f"{'side':16s} {'scenario':44s} {'requests':>9s} {'req/s':>9s} {'p50 ms':>9s} "
          f"{'p99 ms':>9s} {'CPU ms/req':>11s} {'Triton CPU':>11s}")  # fmt: skip
    for name, side in loop.items():
        figures = [side] if name == "direct" else side["figures"]
        for f in figures:
            print(
                f"{name:16s} {f['scenario']:44s} {f['requests']:9d} {f['throughput']:9.1f} "
                f"{f['p50_ms']:9.2f} {f['p99_ms']:9.2f} {f['gateway_cpu_ms_per_request']:11.2f} "
                f"{f['triton_cpu_ms_per_request']:11.1f}"
            )
    for name, side in loop.items():
        if name != "direct":
            ratio = side["embed_vs_direct_triton"]
            print(
                f"{name}: Embed through the gateway / direct Triton = {100 * ratio:.1f}% "
                f"(CPU bound: {100 * side['embed_cpu_bound_vs_direct']:.2f}%)"
            )
    for name, pair in report.get("paired_embed", {}).items():
        if pair["ratio"] is None:
            print(f"{name}: paired run ran out of new images (raise --images)")
            continue
        print(
            f"{name}: at the same time, {pair['workers_each']} workers each: "
            f"{pair['gateway_completed']} Embeds through the gateway, {pair['direct_completed']} "
            f"direct = {100 * pair['ratio']:.1f}%"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", type=Path, help="Triton model repository to serve")
    parser.add_argument("--full-size", action="store_true", help="random-init full-size model")
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (0: none)")
    parser.add_argument(
        "--cached-seconds", type=float, default=0, help="cached scenarios (0: as --seconds)"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--images", type=int, default=6000, help="distinct new images (computed Embeds)"
    )
    parser.add_argument("--warm-up-images", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=256, help="image width in pixels")
    parser.add_argument("--cached-pairs", type=int, default=32)
    parser.add_argument("--cache", choices=("redis", "memory"), default="redis")
    parser.add_argument("--h2load-seconds", type=float, default=8, help="0 = no h2load figures")
    parser.add_argument("--h2load-rounds", type=int, default=2)
    parser.add_argument("--h2load-clients", type=int, default=2)
    parser.add_argument("--h2load-streams", type=int, default=8)
    parser.add_argument(
        "--h2load-rate",
        type=float,
        default=2000,
        help="also offer cached Compares at this rate (calls/s, open loop): p50/p99 at that load; "
        "0 = none",
    )
    parser.add_argument(
        "--h2load-rate-streams", type=int, default=32,
        help="streams per connection at --h2load-rate (a ceiling, not the load)",
    )  # fmt: skip
    parser.add_argument(
        "--loops", nargs="+", default=["uvloop"], help="event loops of this checkout's gateway"
    )
    parser.add_argument("--floor-loops", nargs="+", default=["asyncio", "uvloop"])
    parser.add_argument(
        "--paired-seconds", type=float, default=0, help="gateway and direct Embed at once"
    )
    parser.add_argument("--baseline", type=Path, help="checkout of the version to compare with")
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    parser.add_argument("--json", action="store_true", help="also print the JSON report")
    args = parser.parse_args()
    roots: dict[str, tuple[Path, str]] = {}
    if args.baseline is not None:  # (a version without ASEN_EVENT_LOOP ignores it)
        roots["baseline"] = (args.baseline.resolve(), "asyncio")
    for loop in args.loops:
        roots["current" if len(args.loops) == 1 else f"current-{loop}"] = (ROOT, loop)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as workdir:
        work = Path(workdir)
        repository = args.repository
        if repository is None:
            print("exporting an untrained ASEN++ ...", file=sys.stderr)
            repository = (export_full_size_model if args.full_size else export_small_model)(work)
        services = Services(repository, args.cache, work, roots)
        try:
            print("starting tritonserver, redis-server and the gateway(s) ...", file=sys.stderr)
            services.start()
            report = asyncio.run(run(args, services))
        finally:
            services.stop()
    report["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    report["machine"] = {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()[0]}
    report["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report_text(report, args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
