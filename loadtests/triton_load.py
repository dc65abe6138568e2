"""Closed-loop load on the `asen` ensemble and what Triton's metrics say about it.

Shared by `bench_triton.py`, `gpu_bench.py` and `gpu_check.py`: photo-sized JPEG test images,
request inputs, `concurrency` clients sending `batch` images per request back to back, and the
per-model compute time from Triton's Prometheus endpoint (the decode share).
"""

from __future__ import annotations

import io
import re
import struct
import threading
import time
import urllib.request

import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image
from tritonclient.grpc import service_pb2

from asen_contract.tensors import ATTRIBUTE, ENSEMBLE, IMAGE

_COMPUTE = re.compile(
    r'^nv_inference_compute_(input|infer|output)_duration_us\{model="([^"]+)",version="[^"]*"\} '
    r"([0-9.e+]+)$",
    re.MULTILINE,
)


def photo_jpegs(count: int, seed: int = 0) -> list[bytes]:
    """Photo-sized JPEGs (600x800, 800x600, 750x1000) with smooth random content."""
    rng = np.random.default_rng(seed)
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


def ensemble_inputs(images: list[bytes], ids: list[list[int]]) -> list:
    """IMAGE [B,1] + ATTRIBUTE [B,K] for the `asen` ensemble."""
    tensor = grpcclient.InferInput(IMAGE, [len(images), 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[image] for image in images], dtype=object))
    array = np.asarray(ids, dtype=np.int32)
    attribute = grpcclient.InferInput(ATTRIBUTE, list(array.shape), "INT32")
    attribute.set_data_from_numpy(array)
    return [tensor, attribute]


INFER_METHOD = "/inference.GRPCInferenceService/ModelInfer"


def infer_message(image: bytes, attribute: int = 0) -> bytes:
    """A serialized `ModelInferRequest` for the ensemble (one image, one attribute id), for a
    load generator that sends raw gRPC messages (`h2load_grpc`): BYTES tensors travel as 4-byte
    little-endian lengths + bytes in `raw_input_contents`."""
    request = service_pb2.ModelInferRequest(model_name=ENSEMBLE)
    request.inputs.add(name=IMAGE, datatype="BYTES", shape=[1, 1])
    request.inputs.add(name=ATTRIBUTE, datatype="INT32", shape=[1, 1])
    request.raw_input_contents.append(struct.pack("<I", len(image)) + image)
    request.raw_input_contents.append(np.array([attribute], dtype="<i4").tobytes())
    return request.SerializeToString()


def closed_loop(
    url: str,
    images: list[bytes],
    concurrency: int,
    seconds: float,
    attributes: int,
    batch: int = 1,
) -> dict:
    """`concurrency` clients each send `batch` images (one attribute each) per request."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client_loop(worker: int) -> None:
        client = grpcclient.InferenceServerClient(url)
        index = worker * batch
        while time.monotonic() < stop:
            chosen = [images[(index + i) % len(images)] for i in range(batch)]
            ids = [[(index + i) % attributes] for i in range(batch)]
            start = time.perf_counter()
            client.infer(ENSEMBLE, ensemble_inputs(chosen, ids))
            with lock:
                latencies.append(time.perf_counter() - start)
            index += concurrency * batch

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
        "batch": batch,
        "images_per_s": round(len(ordered) * batch / elapsed, 2),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "requests": len(ordered),
    }


def compute_us(metrics_url: str) -> dict[str, float]:
    """Cumulative compute microseconds (input + infer + output) per model, from /metrics."""
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for _, model, value in _COMPUTE.findall(text):
        totals[model] = totals.get(model, 0.0) + float(value)
    return totals


def compute_shares(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each non-ensemble model's share of the compute time spent between two snapshots."""
    spent = {model: after[model] - before.get(model, 0.0) for model in after if model != ENSEMBLE}
    total = sum(spent.values()) or 1.0
    return {model: round(value / total, 3) for model, value in sorted(spent.items())}
