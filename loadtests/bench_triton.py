"""Benchmark: eager in-process PyTorch vs the Triton `asen` ensemble, full-size ASEN++ shapes,
for every cpu-target runtime and precision asked for, side by side in one run.

Prints one JSON object:
- eager: in-process fused-embedding throughput at batch 16 (decode + preprocess + both branches);
- per variant (`RUNTIME/PRECISION`): the ensemble under concurrent single-image requests
  (images/s, p50/p99), and the same repository's graphs run in this process (decode,
  pre-processing, the three graphs, the RoI crop; 2 streams x 1 thread and 1 x 2, the better
  kept): the bare-runtime limit of the same work, so `served_vs_in_process` says how close the
  server comes to it, and `served_vs_eager` what serving gains over eager PyTorch;
- attributes: the cost of all attributes of one image relative to one attribute, both ways
  (first variant).

    .venv/bin/python loadtests/bench_triton.py [--checkpoint MODEL] [--seconds 20]
        [--variants onnxruntime/float32 openvino/float32 openvino/int8] [--data SYNTH_ROOT]

Without --checkpoint a random-init full-size ASEN++ (8 FashionAI attributes) is used: speed does
not depend on the weights. INT8 calibrates on --data's training images (a small synthetic set
is drawn without it). The servers run first, the in-process runs after them: a process that has
loaded OpenVINO must not fork.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
import tritonclient.grpc as grpcclient
from bench_models import random_checkpoint, synthetic_set
from triton_load import closed_loop, ensemble_inputs, photo_jpegs

from asen.checkpoint import LoadedCheckpoint, load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.inference import Embedder
from asen.runtimes.pipeline import GRAPHS, GraphPipeline
from asen.runtimes.sessions import open_session
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.images import decode_image
from asen_contract.tensors import ENSEMBLE, LOCAL_BRANCH

BATCH = 16
VARIANTS = ("onnxruntime/float32", "openvino/float32", "openvino/int8")


def timed(function, repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up."""
    function()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def one_vs_all(one, every, repeats: int = 9) -> dict:
    """Cost of all attributes vs one, timed in alternation so load from elsewhere hits both."""
    one()
    every()
    singles, alls = [], []
    for _ in range(repeats):
        for function, durations in ((one, singles), (every, alls)):
            start = time.perf_counter()
            function()
            durations.append(time.perf_counter() - start)
    return {
        "one_attribute_ms": round(statistics.median(singles) * 1000, 1),
        "all_attributes_ms": round(statistics.median(alls) * 1000, 1),
        "all_vs_one": round(statistics.median(alls) / statistics.median(singles), 2),
        "all_vs_one_best": round(min(alls) / min(singles), 2),
    }


def bench_eager(checkpoint: LoadedCheckpoint, images: list[bytes]) -> dict:
    embedder = Embedder(checkpoint)
    batch = images[:BATCH]
    count = checkpoint.config.num_attributes
    ids = [i % count for i in range(BATCH)]

    def run_batch() -> None:
        embedder.embed_pairs([decode_image(data) for data in batch], ids)

    seconds = timed(run_batch, 3)
    one = decode_image(images[0])
    return {
        "images_per_s": round(BATCH / seconds, 2),
        "batch": BATCH,
        "torch_threads": torch.get_num_threads(),
        **one_vs_all(
            lambda: embedder.embed_image(one, [0]),
            lambda: embedder.embed_image(one, list(range(count))),
        ),
    }


def bench_triton(
    repository: Path, images: list[bytes], seconds: float, levels, attributes: int, costs=True
) -> dict:
    http, grpc, metrics = free_ports(3)
    with TritonServer(repository, http, grpc, metrics) as server:
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for image in images[:4]:  # warm-up: every model instance sees traffic
            client.infer(ENSEMBLE, ensemble_inputs([image], [[0]]))
        url = server.grpc_url
        count = attributes
        runs = [closed_loop(url, images, level, seconds, count) for level in levels]
        best = max(runs, key=lambda run: run["images_per_s"])
        if not costs:
            return {"saturated": best, "runs": runs}
        every = [list(range(attributes))]
        attribute_costs = one_vs_all(
            lambda: client.infer(ENSEMBLE, ensemble_inputs(images[:1], [[0]])),
            lambda: client.infer(ENSEMBLE, ensemble_inputs(images[:1], every)),
        )
    return {"saturated": best, "runs": runs, **attribute_costs}


def pipeline_rate(pipelines: list[GraphPipeline], images: list[bytes], seconds: float) -> float:
    """Images/s of one thread per pipeline, each decoding and embedding images back to back."""
    counts = [0] * len(pipelines)
    stop = time.perf_counter() + seconds

    def stream(index: int) -> None:
        while time.perf_counter() < stop or counts[index] < 2:
            data = images[(index + len(pipelines) * counts[index]) % len(images)]
            pipelines[index].embed([decode_image(data)], [[0]])
            counts[index] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=stream, args=(i,)) for i in range(len(pipelines))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def bench_in_process(repository: Path, config, images: list[bytes], runtime: str, seconds: float):
    """Images/s of the repository's graphs in this process, decode to fused embedding."""
    paths = {name: repository / name / "1" / "model.onnx" for name in GRAPHS}
    if not paths[LOCAL_BRANCH].is_file():
        del paths[LOCAL_BRANCH]
    results = {}
    for streams, threads in ((2, 1), (1, 2)):
        pipelines = [
            GraphPipeline({n: open_session(p, runtime, threads) for n, p in paths.items()}, config)
            for _ in range(streams)
        ]
        results[f"{streams}x{threads}"] = round(pipeline_rate(pipelines, images, seconds), 2)
    return {"images_per_s": max(results.values()), "layouts": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=20, help="per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--queue-delay-us", type=int, default=2000)
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-eager", action="store_true", help="only the Triton figures")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), help="RUNTIME/PRECISION")
    parser.add_argument("--data", type=Path, default=None, help="data set root (INT8 calibration)")
    parser.add_argument("--calibration-images", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        checkpoint = load_checkpoint(args.checkpoint or random_checkpoint(work / "asenpp.pt"))
        images = photo_jpegs(24)
        print("eager in-process ...", file=sys.stderr)
        eager = None if args.no_eager else bench_eager(checkpoint, images)
        calibration = []
        if any(variant.endswith("/int8") for variant in args.variants):
            data = args.data or synthetic_set(work / "synth", train=args.calibration_images)
            calibration = open_dataset(data).images("train")[: args.calibration_images]
        variants, repositories = {}, {}
        for variant in args.variants:
            runtime, precision = variant.split("/")
            settings = ExportSettings(
                max_batch=args.max_batch,
                queue_delay_us=args.queue_delay_us,
                cpu_threads=args.cpu_threads,
                runtime=runtime,
                precision=precision,
            )
            print(f"{variant}: exporting ...", file=sys.stderr)
            repository = repositories[variant] = work / variant.replace("/", "-")
            chosen = calibration if precision == "int8" else []
            export_repository(checkpoint, repository, settings, calibration=chosen)
            print(f"{variant}: triton ...", file=sys.stderr)
            variants[variant] = bench_triton(
                repository,
                images,
                args.seconds,
                args.concurrency,
                checkpoint.config.num_attributes,
                costs=not variants,
            )
        for variant, repository in repositories.items():
            print(f"{variant}: the same graphs in process ...", file=sys.stderr)
            bound = bench_in_process(
                repository, checkpoint.config, images, variant.split("/")[0], args.seconds
            )
            served = variants[variant]["saturated"]["images_per_s"]
            variants[variant]["in_process"] = bound
            variants[variant]["served_vs_in_process"] = round(served / bound["images_per_s"], 2)
            if eager:
                variants[variant]["served_vs_eager"] = round(served / eager["images_per_s"], 2)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "load_average_at_end": round(os.getloadavg()[0], 2),
        },
        "model": "ASEN++ full size (ResNet-50 224 global, ResNet-34 112 local, 2048-d)",
        "eager_pytorch": eager,
        "triton_ensemble_cpu": variants,
        "settings": {
            "max_batch": args.max_batch,
            "queue_delay_us": args.queue_delay_us,
            "cpu_threads": args.cpu_threads,
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
