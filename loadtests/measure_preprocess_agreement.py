"""A non-default pre-processing's agreement with the exact (Pillow) path, on this machine.

    .venv/bin/python loadtests/measure_preprocess_agreement.py [--preprocessing device|fast]
        [--checkpoint MODEL [--data SYNTH_ROOT]] [--small] [--synthetic-images 12]
        [--photo-scale 4] [--device cpu|cuda] [--no-nvimgcodec] [--out DIR]

Embeds synthetic garments (JPEG files of a drawn test split, and the same garments enlarged
`--photo-scale` times and saved as JPEGs, the size of catalogue photos), photo-sized JPEGs and odd
images (1x1 to 1333x1999, aspect ratio 20, grayscale, CMYK, RGBA PNG, WebP, progressive and
4:4:4 JPEGs) through the same ONNX graphs (onnxruntime, float32) twice: pre-processed by Pillow,
and by the other path. Prints the largest pixel and input difference, the fused cosine and the
share of identical RoI boxes as JSON.

- `device` (`--gpu-preprocess device`): nvImageCodec decode, torch resize and crop on `--device`.
  On a CPU the decoder is nvImageCodec's CPU backend (libjpeg-turbo) or Pillow, so the figures
  measure the resize; on a GPU they include nvJPEG's decoding differences.
- `fast` (`--cpu-preprocess fast`): JPEGs decoded at a reduced DCT scale. With `--checkpoint`
  and `--data` (a trained model and its data set) it also prints the test split's MAP both ways,
  every test image enlarged `--photo-scale` times and saved as a JPEG (quality 90) first, so that
  the reduced decode has something to reduce (the synthetic images are about the input size).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from bench_models import random_checkpoint, synthetic_set
from json_report import publish
from PIL import Image
from triton_load import photo_jpegs

from asen.checkpoint import load_checkpoint
from asen.data.dataset import FashionDataset, open_dataset
from asen.evaluation import evaluate_embeddings
from asen.evaluation.evaluate import checkpoint_spec
from asen.export.onnx_graphs import export_graph, graph_specs, model_geometry
from asen.runtimes.pipeline import GraphPipeline
from asen.runtimes.preprocess_agreement import measure, odd_images
from asen.runtimes.preprocessing import DevicePreprocessing, ExactPreprocessing, FastPreprocessing
from asen.runtimes.sessions import open_session


def enlarged_jpeg(image: Image.Image, scale: int) -> bytes:
    """`image` enlarged `scale` times (bicubic) and saved as a JPEG: a catalogue-sized photo."""
    width, height = image.size
    large = image.convert("RGB").resize((width * scale, height * scale), Image.BICUBIC)
    buffer = io.BytesIO()
    large.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_split_maps(sessions, checkpoint, data: Path, other, scale: int) -> dict:
    """Overall and per-attribute test MAP, exact and `other`, on enlarged JPEGs of the split."""
    dataset = FashionDataset(data, checkpoint_spec(checkpoint, data))
    results = {}
    for prep in (ExactPreprocessing(), other):
        pipeline = GraphPipeline(sessions, checkpoint.config, prep)

        def embed(images, ids, pipeline=pipeline):
            blobs = [enlarged_jpeg(image, scale) for image in images]
            return pipeline.embed_encoded(blobs, [[i] for i in ids]).embedding[:, 0]

        print(f"test split, {prep.name} ...", file=sys.stderr)
        report = evaluate_embeddings(embed, dataset, "test", progress=False)
        results[prep.name] = {
            "overall_map": round(report.overall_map, 4),
            "per_attribute_map": {
                name: round(value["map"], 4) for name, value in report.per_attribute.items()
            },
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preprocessing", choices=("device", "fast"), default="device")
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: random full size")
    parser.add_argument("--data", type=Path, default=None, help="fast: test-split MAP both ways")
    parser.add_argument("--small", action="store_true", help="tiny random model (tests)")
    parser.add_argument("--synthetic-images", type=int, default=12)
    parser.add_argument("--photo-scale", type=int, default=4, help="enlargement of the garments")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-nvimgcodec", action="store_true", help="decode with Pillow")
    parser.add_argument("--out", type=Path, default=None, help="write <preprocessing>_*.json")
    args = parser.parse_args()
    if args.photo_scale < 1:
        parser.error("--photo-scale must be at least 1")
    if args.data is not None and (args.checkpoint is None or args.preprocessing != "fast"):
        parser.error("--data (test-split MAP) needs --checkpoint and --preprocessing fast")
    started = time.monotonic()
    if args.preprocessing == "fast":
        other = FastPreprocessing()
    else:
        other = DevicePreprocessing(args.device, use_nvimgcodec=not args.no_nvimgcodec)
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
        named = [(p.name, p.read_bytes()) for p in files]
        if args.photo_scale > 1:
            named += [
                (
                    f"{p.stem}_x{args.photo_scale}.jpg",
                    enlarged_jpeg(Image.open(p), args.photo_scale),
                )
                for p in files
            ]
        named += [(f"photo_{i}.jpg", data) for i, data in enumerate(photo_jpegs(6))]
        named += odd_images()
        report = measure(sessions, checkpoint.config, named, other)
        if args.data is not None:
            report["test_map"] = test_split_maps(
                sessions, checkpoint, args.data, other, args.photo_scale
            )
    report = {
        "checkpoint": str(args.checkpoint) if args.checkpoint else "random-init",
        "model": "small" if args.small else ("full size" if not args.checkpoint else "checkpoint"),
        "device": args.device if args.preprocessing == "device" else "cpu",
        "photo_scale": args.photo_scale,
        **report,
        "seconds": round(time.monotonic() - started, 1),
    }
    publish(report, args.out, f"{args.preprocessing}_preprocess.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
