"""What INT8 costs in accuracy, for a trained checkpoint on a data set's test split.

Exports the checkpoint's graphs, calibrates INT8 on `--calibration-images` training images
(`asen.runtimes.int8`), then for float32 and INT8 under onnxruntime and OpenVINO prints:
the test-split MAP (per attribute and overall, the official evaluation) and, against float32
onnxruntime on `--images` test images for every attribute, the worst and mean fused cosine and
the share of identical RoI boxes. Prints one JSON object.

    .venv/bin/python loadtests/measure_int8.py --checkpoint MODEL --data SYNTH_ROOT [--out DIR]

Speed is measured by `bench_runtimes.py` (full-size shapes); this script is about accuracy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from json_report import publish

from asen.checkpoint import load_checkpoint
from asen.data.dataset import FashionDataset
from asen.evaluation import evaluate_embeddings
from asen.evaluation.evaluate import checkpoint_spec
from asen.export.onnx_graphs import export_graph, graph_specs, model_geometry
from asen.runtimes.agreement import compare
from asen.runtimes.int8 import INT8_GRAPHS, calibration_feeds, quantize_graph
from asen.runtimes.pipeline import GraphPipeline
from asen.runtimes.sessions import RUNTIMES, open_session
from asen_contract.images import read_image_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="data set root (test split)")
    parser.add_argument("--calibration-images", type=int, default=128)
    parser.add_argument("--images", type=int, default=20, help="test images for agreement")
    parser.add_argument("--out", type=Path, default=None, help="write int8.json here")
    args = parser.parse_args()
    checkpoint = load_checkpoint(args.checkpoint)
    config = checkpoint.config
    dataset = FashionDataset(args.data, checkpoint_spec(checkpoint, args.data))
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        paths = {"float32": {}, "int8": {}}
        model = checkpoint.model.eval()
        for spec in graph_specs(model, model_geometry(model)):
            paths["float32"][spec.name] = work / f"{spec.name}.onnx"
            export_graph(checkpoint.model, spec, paths["float32"][spec.name])
        fp32 = {name: open_session(path) for name, path in paths["float32"].items()}
        train = dataset.images("train")[: args.calibration_images]
        print(f"calibrating on {len(train)} training images ...", file=sys.stderr)
        feeds = calibration_feeds(fp32, config, [read_image_file(p) for p in train])
        for name, path in paths["float32"].items():
            paths["int8"][name] = work / f"{name}.int8.onnx" if name in INT8_GRAPHS else path
            if name in INT8_GRAPHS:
                quantize_graph(path, feeds[name], paths["int8"][name])
        reference = GraphPipeline(fp32, config)
        probe = [read_image_file(p) for p in dataset.images("test")[: args.images]]
        results = {}
        for precision in ("float32", "int8"):
            for runtime in RUNTIMES:
                label = f"{runtime}/{precision}"
                print(f"{label} ...", file=sys.stderr)
                sessions = {n: open_session(p, runtime) for n, p in paths[precision].items()}
                pipeline = GraphPipeline(sessions, config)
                started = time.perf_counter()
                report = evaluate_embeddings(
                    lambda images, ids, p=pipeline: p.embed(images, [[i] for i in ids]).embedding[
                        :, 0
                    ],
                    dataset,
                    "test",
                    progress=False,
                )
                results[label] = {
                    "overall_map": round(report.overall_map, 4),
                    "per_attribute_map": {
                        name: round(value["map"], 4) for name, value in report.per_attribute.items()
                    },
                    "triplet_accuracy": round(report.triplet_accuracy, 4),
                    "evaluation_seconds": round(time.perf_counter() - started, 1),
                    "against_float32_onnxruntime": compare(
                        reference, pipeline, probe, config.num_attributes
                    ).to_dict(),
                }
    output = {
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "calibration_images": len(train),
        "agreement_images": len(probe),
        "int8_graphs": list(INT8_GRAPHS),
        "results": results,
    }
    publish(output, args.out, "int8.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
