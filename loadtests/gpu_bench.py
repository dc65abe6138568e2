"""End-to-end throughput of the gpu target from JPEG bytes (run by `make gpu-bench`).

Builds the gpu repository (full-size ASEN++, `--checkpoint` or a seeded random one), serves it
with an official Triton (`--tritonserver`), and for every (concurrency, images per request)
point prints images/s, p50/p99 latency, the mean GPU utilisation while the point ran
(`nvidia-smi`, sampled every 0.5 s) and the decode share: the part of Triton's compute time
spent in the Python models that decode JPEG bytes (`preprocess`, `roi_crop`), from its metrics.
Each `--gpu-preprocess` mode (default both: `exact`, Pillow on the CPU, and `device`,
nvImageCodec decode and torch resize on the GPU) is exported and served in turn, so the two are
side by side in one run. Interrupted (the Makefile's 8-minute limit), it still prints the points
measured so far.

`--dry-run` runs it without a GPU: the cpu target on the wheel's tritonserver, utilisation
reported as null (the test suite runs it with `--small`). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import tritonclient.grpc as grpcclient
from bench_models import random_checkpoint
from gpu_check import OFFICIAL_TRITONSERVER, step
from json_report import publish
from triton_load import closed_loop, compute_shares, compute_us, ensemble_inputs, photo_jpegs

from asen.checkpoint import load_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.tensors import ENSEMBLE, PREPROCESS, ROI_CROP

DECODING_MODELS = (PREPROCESS, ROI_CROP)


class GpuUtilisation:
    """Mean `utilization.gpu` of all GPUs while the block runs; None without nvidia-smi."""

    def __init__(self, period: float = 0.5) -> None:
        self.period = period
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.available = shutil.which("nvidia-smi") is not None

    def __enter__(self) -> GpuUtilisation:
        if self.available:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.wait(self.period):
            output = subprocess.run(query, capture_output=True, text=True, check=False).stdout
            values = [float(v) for v in output.split() if v.replace(".", "", 1).isdigit()]
            if values:
                self.samples.append(sum(values) / len(values))

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def serve_and_load(repository, checkpoint, images, args, started, mode, points) -> None:
    """Serve one exported repository and measure every (batch, concurrency) point on it."""
    http, grpc, metrics = free_ports(3)
    tritonserver = None if args.dry_run else args.tritonserver
    log = repository.parent / f"tritonserver-{mode}.log"
    with TritonServer(
        repository, http, grpc, metrics, tritonserver=tritonserver, log_path=log
    ) as server:
        step(started, "warm-up (TensorRT engines are built on first use)")
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for batch in sorted(set(args.batches)):
            client.infer(ENSEMBLE, ensemble_inputs(images[:batch], [[0]] * batch))
        for batch in args.batches:
            for level in args.concurrency:
                step(started, f"{mode}: concurrency {level}, {batch} image(s) per request")
                before = compute_us(server.metrics_url)
                with GpuUtilisation() as utilisation:
                    run = closed_loop(server.grpc_url, images, level, args.seconds,
                                      checkpoint.config.num_attributes, batch)  # fmt: skip
                shares = compute_shares(before, compute_us(server.metrics_url))
                run["preprocess"] = mode
                run["gpu_utilisation_percent"] = utilisation.mean
                run["decode_share"] = round(sum(shares.get(m, 0.0) for m in DECODING_MODELS), 3)
                run["compute_shares"] = shares
                points.append(run)
                print(json.dumps(run), file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: random full size")
    parser.add_argument("--tritonserver", type=Path, default=OFFICIAL_TRITONSERVER)
    parser.add_argument("--dry-run", action="store_true", help="no GPU: serve the cpu target")
    parser.add_argument("--small", action="store_true", help="tiny random model (tests)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=12, help="per point")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument(
        "--gpu-preprocess",
        nargs="+",
        choices=("exact", "device"),
        default=["exact", "device"],
        help="pre-processing modes to compare",
    )
    parser.add_argument("--out", type=Path, default=None, help="write gpu_bench.json here")
    args = parser.parse_args()
    started = time.monotonic()
    images = photo_jpegs(64)
    target = "cpu" if args.dry_run else "gpu"
    points: list[dict] = []
    versions: dict[str, str] = {}
    interrupted = False
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = args.checkpoint or random_checkpoint(work / "model.pt", small=args.small)
        checkpoint = load_checkpoint(path)
        try:
            for mode in args.gpu_preprocess:
                step(started, f"exporting the {target} target, pre-processing {mode}")
                settings = ExportSettings(
                    target=target, max_batch=args.max_batch, gpu_preprocess=mode
                )
                exported = export_repository(checkpoint, work / f"{target}-{mode}", settings)
                versions[mode] = exported.model_version
                serve_and_load(exported.repository, checkpoint, images, args, started, mode, points)
        except KeyboardInterrupt:  # the time limit: report what was measured
            interrupted = True
            step(started, "interrupted: reporting the points measured so far")
    best = {}
    for mode in versions:
        measured = [point for point in points if point["preprocess"] == mode]
        if measured:
            top = max(measured, key=lambda point: point["images_per_s"])
            best[mode] = {k: top[k] for k in ("concurrency", "batch", "images_per_s", "p99_ms")}
    report = {
        "target": target + (" (dry run)" if args.dry_run else ""),
        "model_versions": versions,
        "images": "photo-sized JPEGs (600x800 to 750x1000), one attribute per image",
        "best": best,
        "points": points,
        "interrupted": interrupted,
        "seconds": round(time.monotonic() - started, 1),
    }
    publish(report, args.out, "gpu_bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
