"""`asen export`: write a Triton model repository (ONNX branches + Python models + configs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asen.checkpoint import load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.repository import export_repository
from asen.export.settings import (
    CPU_LAYOUTS,
    CPU_PREPROCESS,
    GPU_PREPROCESS,
    PRECISIONS,
    RUNTIMES,
    TARGETS,
    ExportSettings,
)
from asen_contract.errors import ConfigError
from asen_contract.images import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_PIXELS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint into a self-contained Triton model repository",
        description="Export the branches to ONNX (checked against PyTorch), and write the "
        "Python-backend models, every config.pbtxt and the model version string.",
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="model checkpoint (.pt)")
    parser.add_argument("--target", choices=TARGETS, default="cpu", help="cpu or gpu nodes")
    parser.add_argument("--out", type=Path, required=True, help="repository folder to write")
    parser.add_argument("--max-batch", type=int, default=16, help="max_batch_size of the models")
    parser.add_argument(
        "--max-image-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help=f"larger images are refused (default {DEFAULT_MAX_PIXELS})",
    )
    parser.add_argument(
        "--max-aspect-ratio",
        type=float,
        default=DEFAULT_MAX_ASPECT_RATIO,
        help="images longer than this many times their width (or wider than tall) are refused "
        f"(default {DEFAULT_MAX_ASPECT_RATIO:g})",
    )
    parser.add_argument(
        "--queue-delay-us", type=int, default=2000, help="dynamic batching queue delay"
    )
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=1,
        help="intra-op threads per branch instance (cpu target; default 1)",
    )
    parser.add_argument(
        "--cpu-instances",
        type=int,
        default=1,
        help="instances of global_backbone and local_branch, or of the one model asen with "
        "--cpu-layout single (cpu target; default 1): with one thread each, set it to the "
        "node's core count for the backbone to use every core",
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="onnxruntime",
        help="cpu target: the runtime of the branch graphs (default onnxruntime)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="cpu target: int8 quantizes the backbones (global_head stays float32) after "
        "calibration on --calibration-data; its cost is measured and printed",
    )
    parser.add_argument(
        "--gpu-preprocess",
        choices=GPU_PREPROCESS,
        default="exact",
        help="exact (default): decode and resize with Pillow in CPU Python models; device: "
        "decode with nvImageCodec (Pillow when absent) and resize with torch on the GPU, "
        "Pillow's bilinear weights applied exactly (on the cpu target: the same code on the CPU)",
    )
    parser.add_argument(
        "--cpu-preprocess",
        choices=CPU_PREPROCESS,
        default="exact",
        help="exact (default): bit-exact to the official transforms; fast: JPEGs decoded at a "
        "reduced DCT scale (about half the pre-processing CPU for photo-sized images; not "
        "bit-exact, its accuracy cost is in docs/runtimes.md)",
    )
    parser.add_argument(
        "--cpu-layout",
        choices=CPU_LAYOUTS,
        default="ensemble",
        help="cpu target: ensemble (default; five models, the layout the gpu target shares) or "
        "single (one Python model doing every step in one process: fewer hand-overs, whole "
        "requests batched through every graph; the same embeddings)",
    )
    parser.add_argument(
        "--calibration-data",
        type=Path,
        default=None,
        help="data set root: INT8 calibrates on its training images and every non-default "
        "runtime/precision is compared with float32 on its validation images",
    )
    parser.add_argument(
        "--calibration-images", type=int, default=128, help="training images to calibrate on"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = ExportSettings(
        target=args.target,
        max_batch=args.max_batch,
        max_image_pixels=args.max_image_pixels,
        max_aspect_ratio=args.max_aspect_ratio,
        queue_delay_us=args.queue_delay_us,
        cpu_threads=args.cpu_threads,
        cpu_instances=args.cpu_instances,
        runtime=args.runtime,
        precision=args.precision,
        gpu_preprocess=args.gpu_preprocess,
        cpu_preprocess=args.cpu_preprocess,
        cpu_layout=args.cpu_layout,
    )
    if args.calibration_images < 1:
        raise ConfigError("--calibration-images must be at least 1")
    calibration, held_out = [], []
    if args.calibration_data is not None:
        dataset = open_dataset(args.calibration_data)
        calibration = dataset.images("train")[: args.calibration_images]
        held_out = dataset.images("valid")
    elif settings.precision == "int8":
        raise ConfigError("--precision int8 needs --calibration-data (a data set root)")
    checkpoint = load_checkpoint(args.checkpoint)
    result = export_repository(
        checkpoint,
        args.out,
        settings,
        progress=lambda line: print(line, file=sys.stderr),
        calibration=calibration,
        held_out=held_out,
    )
    summary = {
        "repository": str(result.repository),
        "model_version": result.model_version,
        "target": settings.target,
        "runtime": settings.runtime,
        "precision": settings.precision,
        "gpu_preprocess": settings.gpu_preprocess,
        "cpu_preprocess": settings.cpu_preprocess,
        "cpu_layout": settings.cpu_layout,
        "models": result.models,
        "max_relative_error": {c.name: c.max_relative_error for c in result.checks},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {result.repository} ({settings.target} target)")
        print(f"model version {result.model_version}")
        print(f"models: {', '.join(result.models)}")
    return 0
