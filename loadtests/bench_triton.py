"""Benchmark: eager in-process PyTorch vs the Triton `asen` ensemble, full-size ASEN++ shapes.

Prints one JSON object:
- eager: in-process fused-embedding throughput at batch 16 (decode + preprocess + both branches);
- triton: the ensemble (cpu target) under concurrent single-image requests (images/s, p50/p99);
- attributes: the cost of all attributes of one image relative to one attribute, both ways.

    .venv/bin/python loadtests/bench_triton.py [--checkpoint MODEL] [--seconds 20]

Without --checkpoint a random-init full-size ASEN++ (8 FashionAI attributes) is used: speed does
not depend on the weights.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
import tritonclient.grpc as grpcclient
from PIL import Image

from asen.checkpoint import AttributeSpec, load_checkpoint, save_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.inference import Embedder
from asen.model.config import ModelConfig
from asen.model.network import ASEN
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.images import decode_image
from asen_contract.tensors import ATTRIBUTE, ENSEMBLE, IMAGE

ATTRIBUTES = 8
BATCH = 16


def make_images(count: int) -> list[bytes]:
    """Photo-sized JPEGs (600x800, 800x600, 750x1000) with smooth random content."""
    rng = np.random.default_rng(0)
    sizes = [(600, 800), (800, 600), (750, 1000)]
    images = []
    for index in range(count):
        width, height = sizes[index % len(sizes)]
        small = (rng.random((height // 40, width // 40, 3)) * 255).astype(np.uint8)
        image = Image.fromarray(small).resize((width, height), Image.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def full_size_checkpoint(folder: Path) -> Path:
    torch.manual_seed(0)
    path = folder / "asenpp.pt"
    specs = [AttributeSpec(f"attribute_{i}", 5) for i in range(ATTRIBUTES)]
    save_checkpoint(path, ASEN(ModelConfig(num_attributes=ATTRIBUTES)), specs)
    return path


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


def bench_eager(checkpoint: Path, images: list[bytes]) -> dict:
    embedder = Embedder(load_checkpoint(checkpoint))
    batch = images[:BATCH]
    ids = [i % ATTRIBUTES for i in range(BATCH)]

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
            lambda: embedder.embed_image(one, list(range(ATTRIBUTES))),
        ),
    }


def inputs(image: bytes, ids: list[int]) -> list:
    tensor = grpcclient.InferInput(IMAGE, [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[image]], dtype=object))
    attribute = grpcclient.InferInput(ATTRIBUTE, [1, len(ids)], "INT32")
    attribute.set_data_from_numpy(np.asarray([ids], dtype=np.int32))
    return [tensor, attribute]


def load(url: str, images: list[bytes], concurrency: int, seconds: float) -> dict:
    """`concurrency` clients each send one image + one attribute per request, back to back."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client_loop(worker: int) -> None:
        client = grpcclient.InferenceServerClient(url)
        index = worker
        while time.monotonic() < stop:
            start = time.perf_counter()
            client.infer(ENSEMBLE, inputs(images[index % len(images)], [index % ATTRIBUTES]))
            with lock:
                latencies.append(time.perf_counter() - start)
            index += concurrency

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(w,)) for w in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "concurrency": concurrency,
        "images_per_s": round(len(ordered) / elapsed, 2),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "requests": len(ordered),
    }


def bench_triton(repository: Path, images: list[bytes], seconds: float, levels) -> dict:
    http, grpc, metrics = free_ports(3)
    with TritonServer(repository, http, grpc, metrics) as server:
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for image in images[:4]:  # warm-up: every model instance sees traffic
            client.infer(ENSEMBLE, inputs(image, [0]))
        runs = [load(server.grpc_url, images, level, seconds) for level in levels]
        best = max(runs, key=lambda run: run["images_per_s"])
        costs = one_vs_all(
            lambda: client.infer(ENSEMBLE, inputs(images[0], [0])),
            lambda: client.infer(ENSEMBLE, inputs(images[0], list(range(ATTRIBUTES)))),
        )
    return {"saturated": best, "runs": runs, **costs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=20, help="per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--queue-delay-us", type=int, default=2000)
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-eager", action="store_true", help="only the Triton figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = args.checkpoint or full_size_checkpoint(Path(folder))
        images = make_images(24)
        print("eager in-process ...", file=sys.stderr)
        eager = None if args.no_eager else bench_eager(checkpoint, images)
        settings = ExportSettings(
            max_batch=args.max_batch,
            queue_delay_us=args.queue_delay_us,
            cpu_threads=args.cpu_threads,
        )
        print("exporting ...", file=sys.stderr)
        repository = Path(folder) / "repository"
        export_repository(load_checkpoint(checkpoint), repository, settings)
        print("triton ...", file=sys.stderr)
        triton = bench_triton(repository, images, args.seconds, args.concurrency)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "load_average_at_end": round(os.getloadavg()[0], 2),
        },
        "model": "ASEN++ full size (ResNet-50 224 global, ResNet-34 112 local, 2048-d)",
        "eager_pytorch": eager,
        "triton_ensemble_cpu": triton,
        "triton_vs_eager": None
        if eager is None
        else round(triton["saturated"]["images_per_s"] / eager["images_per_s"], 2),
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
