"""The gpu target's parity and speed in one command (run by `scripts/gpu_check.sh`).

1. export the gpu target from a full-size checkpoint (`--checkpoint`, or a seeded random one);
2. serve it with an official Triton (`--tritonserver`, default /opt/tritonserver/bin/tritonserver);
3. embed synthetic garments and photo-sized JPEGs for every attribute through the server and with
   the in-process CPU float32 embedder: every fused cosine >= 0.9999 and every RoI box identical,
   or the command fails naming the worst image;
4. print the served throughput at several concurrencies.

`--gpu-preprocess device` checks the device pre-processing instead (nvImageCodec decode and torch
resize on the GPU): its resize is exact, nvJPEG's decoding may not be, and this check says
whether the embeddings still meet the parity rule.

`--dry-run` does all of it on a machine without a GPU: it still exports (and so checks) the gpu
target, then serves the cpu target with the wheel's tritonserver instead, so every step but the
GPU itself is exercised (the test suite runs it with `--small`). Prints one JSON object; exit
status 1 when parity fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient
from bench_models import random_checkpoint, synthetic_set
from json_report import publish
from triton_load import closed_loop, ensemble_inputs, photo_jpegs

from asen.checkpoint import load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.inference import Embedder
from asen.runtimes.agreement import PARITY_COSINE, cosine
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.images import decode_image
from asen_contract.tensors import EMBEDDING, ENSEMBLE, ROI

OFFICIAL_TRITONSERVER = Path("/opt/tritonserver/bin/tritonserver")


def parity_images(folder: Path, synthetic: int, photos: int) -> list[tuple[str, bytes]]:
    """(name, encoded bytes): synthetic garments (JPEG files of the test split) and photos."""
    root = synthetic_set(folder / "synth", test=synthetic)
    paths = open_dataset(root).images("test")[:synthetic]
    named = [(path.name, path.read_bytes()) for path in paths]
    named += [(f"photo_{i}.jpg", data) for i, data in enumerate(photo_jpegs(photos))]
    return named


def check_parity(url: str, embedder: Embedder, images: list[tuple[str, bytes]]) -> dict:
    """Served vs in-process float32: worst cosine, boxes that differ, per-image detail."""
    client = grpcclient.InferenceServerClient(url)
    attributes = list(range(embedder.config.num_attributes))
    worst, worst_image, differing = 1.0, "", []
    for name, data in images:
        result = client.infer(ENSEMBLE, ensemble_inputs([data], [attributes]))
        served = result.as_numpy(EMBEDDING)[0]
        rois = result.as_numpy(ROI)[0]
        want = embedder.embed_image(decode_image(data), attributes)
        lowest = float(cosine(served, want.fused).min())
        if lowest < worst:
            worst, worst_image = lowest, name
        for attribute in np.flatnonzero(np.any(rois != want.roi, axis=-1)):
            differing.append(
                {
                    "image": name,
                    "attribute": int(attribute),
                    "served": rois[attribute].tolist(),
                    "cpu_float32": want.roi[attribute].tolist(),
                }  # fmt: skip
            )
    return {
        "pairs": len(images) * len(attributes),
        "min_cosine": worst,
        "min_cosine_image": worst_image,
        "roi_differing": differing,
        "passed": worst >= PARITY_COSINE and not differing,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: random full size")
    parser.add_argument("--tritonserver", type=Path, default=OFFICIAL_TRITONSERVER)
    parser.add_argument("--dry-run", action="store_true", help="no GPU: serve the cpu target")
    parser.add_argument("--small", action="store_true", help="tiny random model (tests)")
    parser.add_argument(
        "--gpu-preprocess",
        choices=("exact", "device"),
        default="exact",
        help="where preprocess and roi_crop decode and resize (asen export)",
    )
    parser.add_argument("--synthetic-images", type=int, default=12)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--seconds", type=float, default=10, help="per concurrency level")
    parser.add_argument("--out", type=Path, default=None, help="write gpu_check.json here")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = args.checkpoint or random_checkpoint(work / "model.pt", small=args.small)
        checkpoint = load_checkpoint(path)
        step(started, "exporting the gpu target")
        preprocess = args.gpu_preprocess
        gpu_settings = ExportSettings(target="gpu", gpu_preprocess=preprocess)
        gpu = export_repository(checkpoint, work / "gpu", gpu_settings)
        repository, tritonserver = gpu.repository, args.tritonserver
        if args.dry_run:
            step(started, "dry run: exporting the cpu target to serve instead")
            cpu_settings = ExportSettings(gpu_preprocess=preprocess)
            repository = export_repository(checkpoint, work / "cpu", cpu_settings).repository
            tritonserver = None
        images = parity_images(work, args.synthetic_images, args.photos)
        http, grpc, metrics = free_ports(3)
        step(started, f"serving {repository.name}")
        with TritonServer(repository, http, grpc, metrics, tritonserver=tritonserver,
                          log_path=work / "tritonserver.log") as server:  # fmt: skip
            step(started, "parity against the in-process CPU float32 embedder")
            parity = check_parity(server.grpc_url, Embedder(checkpoint), images)
            runs = []
            for level in args.concurrency:
                step(started, f"throughput at concurrency {level}")
                runs.append(
                    closed_loop(
                        server.grpc_url,
                        [d for _, d in images],
                        level,
                        args.seconds,
                        checkpoint.config.num_attributes,
                    )  # fmt: skip
                )
    report = {
        "target_served": "cpu (dry run)" if args.dry_run else "gpu",
        "gpu_model_version": gpu.model_version,
        "gpu_preprocess": args.gpu_preprocess,
        "checkpoint": str(args.checkpoint) if args.checkpoint else "random-init",
        "parity": parity,
        "throughput": runs,
        "seconds": round(time.monotonic() - started, 1),
    }
    publish(report, args.out, "gpu_check.json")
    if not parity["passed"]:
        print(f"PARITY FAILED: min cosine {parity['min_cosine']:.6f} "
              f"({parity['min_cosine_image']}), {len(parity['roi_differing'])} RoI boxes differ",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def step(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
