"""Benchmark: the served ensemble against the bare runtime's limit, side by side in one run.

The bare limit is the same repository's graphs (`global_backbone`, `global_head`,
`local_branch`) run in this process, each at its best batch size and layout (streams x
intra-op threads, found by a first sweep), combined as `1 / sum(1 / graph images/s)`: what the
runtime can do with no decoding, no pre-processing, no RoI crop and no serving. The served
figure is the Triton ensemble under a closed loop of concurrent single-image requests (photo-sized
JPEG bytes in, fused embedding out), so it also pays for decoding, pre-processing, the crop, the
Python backend and the load generator, all on the same cores.

The two are measured in alternation, `--rounds` times (bare first in even rounds, served first in
odd ones), while the server stays up (idle while the bare graphs run), so load from other
programs on a shared machine reaches both; each round gives one ratio, and the report gives their
median and spread.

On a shared machine the wall-clock ratio also measures how the kernel shares the cores: the bare
graphs run `streams x threads` threads, the server a dozen processes, and under load each gets a
share of the cores by its runnable threads, not by its need. So every round also counts CPU time
(`/proc`: the tritonserver process tree, and this process for the bare graphs and for the load
generator): `cpu_ratio` = bare CPU seconds per image (the three graphs at their best settings) /
served CPU seconds per image (server and client), `cpu_ratio_server` the same without the load
generator (the served ensemble alone: what the target is about). They say which share of the
served CPU goes to the graphs, and what the served/bare ratio would be on a machine where both
kept the cores busy. The server's CPU is also split by part (`cpu_ms_per_image_server_by_part`:
the tritonserver process, each model's Python-backend stubs), and every round records the load
average when it starts and ends: on a quiet machine (load average well under the core count)
the wall-clock ratio is meaningful too.

Every bare round also runs the served pre-processing in this process (`PreprocessingStage`,
the export's `--cpu-preprocess` code, one thread per core): `ratio_with_preprocessing` and
`cpu_ratio_server_with_preprocessing` compare the served ensemble with the graphs plus that
work, i.e. what serving itself costs.

    .venv/bin/python loadtests/bench_served_vs_bare.py [--variant onnxruntime/float32]
        [--rounds 3] [--seconds 15] [--concurrency 4] [--cpu-instances 2]
        [--cpu-preprocess exact|fast] [--cpu-layout ensemble|single]
        [--load-generator python|h2load] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h2load_grpc
import numpy as np
import torch
import tritonclient.grpc as grpcclient
from bench_models import random_checkpoint, synthetic_set
from bench_runtimes import measure, pipeline_limit
from json_report import publish
from triton_load import (
    INFER_METHOD,
    closed_loop,
    compute_shares,
    compute_us,
    ensemble_inputs,
    infer_message,
    photo_jpegs,
)

from asen.checkpoint import load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.onnx_graphs import graph_specs, model_geometry
from asen.export.repository import export_repository
from asen.export.settings import CPU_LAYOUTS, CPU_PREPROCESS, ExportSettings
from asen.runtimes.preprocessing import ExactPreprocessing, FastPreprocessing
from asen.runtimes.sessions import open_session
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.roi import SquareBox, attention_boxes, box_in_source
from asen_contract.tensors import ENSEMBLE


def tree_cpu_by_process(pid: int) -> dict[str, float]:
    """CPU seconds of a process tree by part: `tritonserver` (the server process itself), each
    model's Python-backend stubs (named by the model, all its instances together), `other`."""
    totals: dict[str, float] = {}
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            argv = Path(f"/proc/{current}/cmdline").read_bytes().split(b"\0")
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # exited meanwhile
        part = _process_part(current == pid, [a.decode(errors="replace") for a in argv])
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        totals[part] = totals.get(part, 0.0) + seconds
    return totals


def _process_part(is_root: bool, argv: list[str]) -> str:
    if is_root:
        return "tritonserver"
    if argv and argv[0].endswith("triton_python_backend_stub") and len(argv) > 1:
        return Path(argv[1]).parent.parent.name  # .../<model>/<version>/model.py
    return "other"


def graph_path(repository: Path, name: str) -> Path:
    """An exported graph: its own model's version folder, or the single model's (`--cpu-layout
    single`)."""
    single = repository / ENSEMBLE / "1" / f"{name}.onnx"
    return single if single.is_file() else repository / name / "1" / "model.onnx"


def bare_graphs(repository: Path, model, runtime: str, batches, layouts) -> tuple[dict, dict]:
    """(sessions by (graph, threads), feeds by (graph, batch)) of the repository's graphs."""
    specs = {spec.name: spec for spec in graph_specs(model, model_geometry(model))}
    sessions, feeds = {}, {}
    torch.manual_seed(0)
    for name, spec in specs.items():
        path = graph_path(repository, name)
        for streams, threads in layouts:
            pool = sessions.setdefault((name, threads), [])
            while len(pool) < streams:
                pool.append(open_session(path, runtime, threads))
        for batch in batches:
            tensors = spec.example(batch, 1)
            feeds[(name, batch)] = {n: t.numpy() for n, t in zip(spec.inputs, tensors, strict=True)}
    return sessions, feeds


def sweep(sessions, feeds, batches, layouts, seconds: float) -> dict[str, dict]:
    """Each graph's best (batch, streams, threads) and its images/s, one pass over the grid."""
    best: dict[str, dict] = {}
    graphs = sorted({graph for graph, _ in feeds})
    for graph in graphs:
        for batch in batches:
            for streams, threads in layouts:
                pool = sessions[(graph, threads)][:streams]
                pool[0].run(feeds[(graph, batch)])  # warm-up
                rate = measure(pool, feeds[(graph, batch)], batch, seconds)
                if rate > best.get(graph, {}).get("images_per_s", 0.0):
                    best[graph] = {"batch": batch, "streams": streams, "threads": threads,
                                   "images_per_s": round(rate, 2)}  # fmt: skip
    return best


class PreprocessingStage:
    """The served pre-processing of one photo-sized JPEG, in this process, as a bare stage: what
    `preprocess` (decode, global input) and `roi_crop` (box, decode again, local input) compute,
    with the export's `--cpu-preprocess` code. `run` ignores its feeds, like a graph session's
    stand-in for `measure`."""

    def __init__(self, images: list[bytes], mode: str, config) -> None:
        self.images, self.config, self.calls = images, config, 0
        self.prep = FastPreprocessing() if mode == "fast" else ExactPreprocessing()
        rng = np.random.default_rng(0)
        self.attention = rng.random((1, 14, 14), dtype=np.float32)  # a box of a realistic size

    def run(self, feeds: dict) -> None:
        config, prep = self.config, self.prep
        data = self.images[self.calls % len(self.images)]
        self.calls += 1
        prep.global_input(prep.decode(data), config.global_size)
        if config.has_local:
            square = attention_boxes(self.attention, config.global_size, config.threshold)[0]
            image = prep.decode(data)
            box = box_in_source(SquareBox(*square.tolist()), prep.size(image), config.global_size)
            prep.local_input(image, box, config.local_size)


def bare_limit(
    sessions, feeds, best: dict[str, dict], seconds: float, preprocessing: list | None = None
) -> dict:
    """Wall-clock limit and CPU cost per image of the graphs at their best settings; with
    `preprocessing` (stages, one per stream), also of the graphs plus the pre-processing."""
    rates, cpu_ms = {}, {}
    stages = {graph: (sessions[(graph, s["threads"])][: s["streams"]], s["batch"])
              for graph, s in best.items()}  # fmt: skip
    if preprocessing:
        stages["preprocessing"] = (preprocessing, 1)
    for stage, (pool, batch) in stages.items():
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        rates[stage] = measure(pool, feeds.get((stage, batch), {}), batch, seconds)
        images = rates[stage] * (time.perf_counter() - wall_before)
        cpu_ms[stage] = (time.process_time() - cpu_before) * 1000 / images
    result = {
        "images_per_s": round(pipeline_limit({g: rates[g] for g in best}), 3),
        "per_graph": {g: round(rates[g], 2) for g in best},
        "cpu_ms_per_image": round(sum(cpu_ms[g] for g in best), 2),
        "cpu_ms_per_image_per_graph": {g: round(cpu_ms[g], 2) for g in best},
    }
    if preprocessing:
        result["preprocessing_images_per_s"] = round(rates["preprocessing"], 2)
        result["preprocessing_cpu_ms_per_image"] = round(cpu_ms["preprocessing"], 2)
        result["with_preprocessing_images_per_s"] = round(pipeline_limit(rates), 3)
        result["with_preprocessing_cpu_ms_per_image"] = round(sum(cpu_ms.values()), 2)
    return result


def served_load(server, images, args, attributes: int) -> dict:
    """Closed-loop load on the ensemble with its CPU cost (server tree, load generator)."""
    if args.load_generator == "h2load":
        return h2load_served_load(server, images, args)
    before = compute_us(server.metrics_url)
    server_cpu, client_cpu = tree_cpu_by_process(server.process.pid), time.process_time()
    wall = time.perf_counter()
    run = closed_loop(server.grpc_url, images, args.concurrency, args.seconds, attributes)
    images_done = run["images_per_s"] * (time.perf_counter() - wall)
    server_after = tree_cpu_by_process(server.process.pid)
    client_ms = (time.process_time() - client_cpu) * 1000 / images_done
    return _with_cpu(run, server, before, server_cpu, server_after, images_done, client_ms)


H2LOAD_WARM_UP = 2.0


def h2load_served_load(server, images: list[bytes], args) -> dict:
    """The same closed loop driven by h2load (C), which sends one message over and over: one
    h2load per photo size (600x800, 800x600, 750x1000, the mix the bare pre-processing cycles
    through), `--concurrency` streams shared equally, one attribute id per request, all at once.
    The server's CPU is sampled over h2load's measuring window (after its warm-up); h2load's own
    CPU (children of this process) is scaled to the window. Latency: the worst generator's."""
    photos = images[:3]
    if args.concurrency % len(photos):
        raise SystemExit(f"--load-generator h2load needs --concurrency divisible by {len(photos)}")
    client = grpcclient.InferenceServerClient(server.grpc_url)
    for image in photos:  # h2load sees HTTP statuses only: check each message once
        client.infer(ENSEMBLE, ensemble_inputs([image], [[0]]))
    pid, sampled = server.process.pid, {}

    def sample_start() -> None:
        sampled["server"] = tree_cpu_by_process(pid)
        sampled["compute"] = compute_us(server.metrics_url)

    def generate(image: bytes) -> h2load_grpc.H2Result:
        return h2load_grpc.run(
            server.grpc_url, INFER_METHOD, infer_message(image, 0), seconds=args.seconds,
            clients=1, streams=args.concurrency // len(photos), warm_up=H2LOAD_WARM_UP,
        )  # fmt: skip

    timer = threading.Timer(H2LOAD_WARM_UP, sample_start)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    timer.start()
    with ThreadPoolExecutor(len(photos)) as pool:
        results = list(pool.map(generate, photos))
    server_after = tree_cpu_by_process(pid)
    timer.join()
    succeeded = sum(r.succeeded for r in results)
    if any(r.failed for r in results) or not succeeded:
        raise RuntimeError(f"h2load: {[(r.succeeded, r.failed) for r in results]}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    h2load_cpu = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    window = args.seconds / (args.seconds + H2LOAD_WARM_UP)
    client_ms = h2load_cpu * window * 1000 / succeeded
    run = {
        "concurrency": args.concurrency,
        "batch": 1,
        "load_generator": "h2load",
        "images_per_s": round(sum(r.requests_per_s for r in results), 2),
        "p50_ms": max(r.p50_ms for r in results),
        "p99_ms": max(r.p99_ms for r in results),
        "requests": succeeded,
        "requests_per_photo_size": [r.succeeded for r in results],
    }
    return _with_cpu(
        run, server, sampled["compute"], sampled["server"], server_after, succeeded, client_ms
    )


def _with_cpu(run, server, compute_before, server_cpu, server_after, images_done, client_ms):
    """`run` with the CPU per image (server by part, client) and the models' compute shares."""
    by_part = {
        part: round((seconds - server_cpu.get(part, 0.0)) * 1000 / images_done, 2)
        for part, seconds in sorted(server_after.items())
    }
    server_ms = sum(by_part.values())
    run["cpu_ms_per_image"] = round(server_ms + client_ms, 2)
    run["cpu_ms_per_image_server"] = round(server_ms, 2)
    run["cpu_ms_per_image_client"] = round(client_ms, 2)
    run["cpu_ms_per_image_server_by_part"] = by_part
    run["compute_shares"] = compute_shares(compute_before, compute_us(server.metrics_url))
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: random full size")
    parser.add_argument("--small", action="store_true", help="tiny random model (tests)")
    parser.add_argument("--variant", default="onnxruntime/float32", help="RUNTIME/PRECISION")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15, help="served, per round")
    parser.add_argument("--bare-seconds", type=float, default=3, help="per graph and round")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--layouts", nargs="+", default=["1x2", "2x1"], help="STREAMSxTHREADS")
    parser.add_argument("--cpu-threads", type=int, default=ExportSettings().cpu_threads)
    parser.add_argument(
        "--cpu-instances", type=int, default=ExportSettings().cpu_instances,
        help="instances of global_backbone and local_branch (the export's --cpu-instances)",
    )  # fmt: skip
    parser.add_argument(
        "--cpu-preprocess", choices=CPU_PREPROCESS, default="exact",
        help="the export's --cpu-preprocess: exact (default) or fast (reduced-scale JPEG decode)",
    )  # fmt: skip
    parser.add_argument(
        "--cpu-layout", choices=CPU_LAYOUTS, default="ensemble",
        help="the export's --cpu-layout: ensemble (default) or single (one Python model)",
    )  # fmt: skip
    parser.add_argument(
        "--load-generator", choices=("python", "h2load"), default="python",
        help="python: tritonclient threads, 24 images (default); h2load: the C load generator "
        "(one image), so the client takes less of the cores the server shares",
    )  # fmt: skip
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--queue-delay-us", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=None, help="data set root (INT8)")
    parser.add_argument("--calibration-images", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None, help="write served_vs_bare.json")
    args = parser.parse_args()
    layouts = [tuple(int(v) for v in layout.split("x")) for layout in args.layouts]
    runtime, precision = args.variant.split("/")
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = args.checkpoint or random_checkpoint(work / "model.pt", small=args.small)
        checkpoint = load_checkpoint(path)
        calibration = []
        if precision == "int8":
            data = args.data or synthetic_set(work / "synth", train=args.calibration_images)
            calibration = open_dataset(data).images("train")[: args.calibration_images]
        settings = ExportSettings(
            max_batch=args.max_batch,
            queue_delay_us=args.queue_delay_us,
            cpu_threads=args.cpu_threads,
            cpu_instances=args.cpu_instances,
            cpu_preprocess=args.cpu_preprocess,
            cpu_layout=args.cpu_layout,
            runtime=runtime,
            precision=precision,
        )
        log(started, f"exporting {args.variant}")
        repository = work / "repository"
        export_repository(checkpoint, repository, settings, calibration=calibration)
        model = checkpoint.model.eval()
        sessions, feeds = bare_graphs(repository, model, runtime, args.batches, layouts)
        log(started, "bare graphs: sweeping batch sizes and layouts")
        best = sweep(sessions, feeds, args.batches, layouts, args.bare_seconds)
        images = photo_jpegs(24)
        preprocessing = [  # one stage per core, like the graphs' best layouts
            PreprocessingStage(images, args.cpu_preprocess, checkpoint.config)
            for _ in range(os.cpu_count() or 1)
        ]
        rounds = []
        http, grpc, metrics = free_ports(3)
        with TritonServer(repository, http, grpc, metrics) as server:
            client = grpcclient.InferenceServerClient(server.grpc_url)
            for image in images[:4]:  # warm-up: every model instance sees traffic
                client.infer(ENSEMBLE, ensemble_inputs([image], [[0]]))
            for index in range(args.rounds):
                order = ("bare", "served") if index % 2 == 0 else ("served", "bare")
                result = {"load_average_start": round(os.getloadavg()[0], 2)}
                for kind in order:
                    log(started, f"round {index + 1}/{args.rounds}: {kind}")
                    if kind == "bare":
                        result["bare"] = bare_limit(
                            sessions, feeds, best, args.bare_seconds, preprocessing
                        )
                    else:
                        attributes = checkpoint.config.num_attributes
                        result["served"] = served_load(server, images, args, attributes)
                served, bare = result["served"], result["bare"]
                result["ratio"] = round(served["images_per_s"] / bare["images_per_s"], 3)
                result["cpu_ratio"] = round(
                    bare["cpu_ms_per_image"] / served["cpu_ms_per_image"], 3
                )
                result["cpu_ratio_server"] = round(
                    bare["cpu_ms_per_image"] / served["cpu_ms_per_image_server"], 3
                )
                result["ratio_with_preprocessing"] = round(
                    served["images_per_s"] / bare["with_preprocessing_images_per_s"], 3
                )
                result["cpu_ratio_server_with_preprocessing"] = round(
                    bare["with_preprocessing_cpu_ms_per_image"] / served["cpu_ms_per_image_server"],
                    3,
                )
                result["load_average"] = round(os.getloadavg()[0], 2)
                rounds.append(result)
    ratios = [r["ratio"] for r in rounds]
    cpu_ratios = [r["cpu_ratio"] for r in rounds]
    server_ratios = [r["cpu_ratio_server"] for r in rounds]
    with_preprocessing = [r["ratio_with_preprocessing"] for r in rounds]
    server_with_preprocessing = [r["cpu_ratio_server_with_preprocessing"] for r in rounds]
    report = {
        "variant": args.variant,
        "model": "small" if args.small else "ASEN++ full size, K = 1",
        "best_bare_settings": best,
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
        "cpu_ratio_min": min(cpu_ratios),
        "cpu_ratio_max": max(cpu_ratios),
        "cpu_ratio_server_median": round(statistics.median(server_ratios), 3),
        "cpu_ratio_server_min": min(server_ratios),
        "cpu_ratio_server_max": max(server_ratios),
        # the bare side doing the same pre-processing in process: what serving itself costs
        "ratio_with_preprocessing_median": round(statistics.median(with_preprocessing), 3),
        "cpu_ratio_server_with_preprocessing_median": round(
            statistics.median(server_with_preprocessing), 3
        ),
        "cpu_ratio_server_with_preprocessing_min": min(server_with_preprocessing),
        "cpu_ratio_server_with_preprocessing_max": max(server_with_preprocessing),
        "rounds": rounds,
        "settings": {
            "concurrency": args.concurrency,
            "served_seconds": args.seconds,
            "bare_seconds": args.bare_seconds,
            "cpu_threads": args.cpu_threads,
            "cpu_instances": args.cpu_instances,
            "cpu_preprocess": args.cpu_preprocess,
            "cpu_layout": args.cpu_layout,
            "load_generator": args.load_generator,
            "max_batch": args.max_batch,
            "queue_delay_us": args.queue_delay_us,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    publish(report, args.out, "served_vs_bare.json")
    return 0


def log(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
