"""The device pre-processing's agreement with the exact (Pillow) path, on this machine.

    .venv/bin/python loadtests/measure_device_preprocess.py [--checkpoint MODEL] [--small]
        [--synthetic-images 12] [--device cpu|cuda] [--no-nvimgcodec] [--out DIR]

Embeds synthetic garments (JPEG files of a drawn test split) and odd images (1x1 to 1333x1999,
aspect ratio 20, grayscale, CMYK, RGBA PNG, WebP, progressive and 4:4:4 JPEGs) through the same
ONNX graphs (onnxruntime, float32) twice: pre-processed by Pillow, and by the device path
(nvImageCodec decode, torch resize and crop on `--device`). Prints the largest pixel and input
difference, the fused cosine and the share of identical RoI boxes as JSON. On a CPU the device
path decodes with nvImageCodec's CPU backend (libjpeg-turbo) or Pillow, so the figures measure
the resize; on a GPU they include nvJPEG's decoding differences.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench_models import random_checkpoint, synthetic_set
from json_report import publish

from asen.checkpoint import load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.onnx_graphs import export_graph, graph_specs, model_geometry
from asen.runtimes.device_agreement import measure, odd_images
from asen.runtimes.preprocessing import DevicePreprocessing
from asen.runtimes.sessions import open_session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: random full size")
    parser.add_argument("--small", action="store_true", help="tiny random model (tests)")
    parser.add_argument("--synthetic-images", type=int, default=12)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-nvimgcodec", action="store_true", help="decode with Pillow")
    parser.add_argument("--out", type=Path, default=None, help="write device_preprocess.json")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = args.checkpoint or random_checkpoint(work / "model.pt", small=args.small)
        checkpoint = load_checkpoint(path)
        model = checkpoint.model.eval()
        sessions = {}
        for spec in graph_specs(model, model_geometry(model)):
            graph = work / f"{spec.name}.onnx"
            export_graph(model, spec, graph)
            sessions[spec.name] = open_session(graph, "onnxruntime", 0)
        root = synthetic_set(work / "synth", test=args.synthetic_images)
        files = open_dataset(root).images("test")[: args.synthetic_images]
        named = [(p.name, p.read_bytes()) for p in files] + odd_images()
        device = DevicePreprocessing(args.device, use_nvimgcodec=not args.no_nvimgcodec)
        report = measure(sessions, checkpoint.config, named, device)
    report = {
        "checkpoint": str(args.checkpoint) if args.checkpoint else "random-init",
        "model": "small" if args.small else "full size",
        "device": args.device,
        **report,
        "seconds": round(time.monotonic() - started, 1),
    }
    publish(report, args.out, "device_preprocess.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
