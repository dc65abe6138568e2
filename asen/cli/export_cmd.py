"""`asen export`: write a Triton model repository (ONNX branches + Python models + configs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asen.checkpoint import load_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import TARGETS, ExportSettings
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
        "--cpu-threads", type=int, default=2, help="onnxruntime threads per branch (cpu target)"
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
    )
    checkpoint = load_checkpoint(args.checkpoint)
    result = export_repository(
        checkpoint, args.out, settings, progress=lambda line: print(line, file=sys.stderr)
    )
    summary = {
        "repository": str(result.repository),
        "model_version": result.model_version,
        "target": settings.target,
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
