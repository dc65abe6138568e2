"""Measure, on the CPU, what FP16 does to each graph: the evidence for the gpu target's choice of
precision per graph (TensorRT FP16 or float32).

Each variant runs some graphs in emulated FP16 (`asen.runtimes.half`) and the others in float32,
embeds synthetic test images for every attribute and compares with all-float32: worst and mean
fused cosine, share of identical RoI boxes, largest box shift. Prints one JSON object.

    .venv/bin/python loadtests/measure_fp16.py [--checkpoint MODEL] [--data SYNTH_ROOT]
        [--images 12] [--out DIR]

Without --checkpoint a random-init full-size ASEN++ is used, its attention sharpened so that
boxes differ per attribute (random weights give flat maps whose box is the whole frame, which
would hide any effect on the box). Without --data a small synthetic set is drawn.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

from bench_models import random_checkpoint, synthetic_set
from json_report import publish

from asen.checkpoint import load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.onnx_graphs import graph_specs, model_geometry
from asen.runtimes.agreement import compare
from asen.runtimes.half import TorchGraphSession
from asen.runtimes.pipeline import GraphPipeline
from asen_contract.images import read_image_file


def pipeline(model, half: set[str]) -> GraphPipeline:
    sessions = {
        spec.name: TorchGraphSession(
            spec.build(copy.deepcopy(model)), spec.inputs, spec.outputs, spec.name in half
        )
        for spec in graph_specs(model, model_geometry(model))
    }
    return GraphPipeline(sessions, model.config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None, help="synthetic set (test split)")
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--out", type=Path, default=None, help="write fp16.json here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        checkpoint = load_checkpoint(args.checkpoint or random_checkpoint(work / "asenpp.pt"))
        data = args.data
        if data is None:
            data = work / "synth"
            synthetic_set(data, test=args.images)
        paths = open_dataset(data).images("test")[: args.images]
        images = [read_image_file(path) for path in paths]
        model = checkpoint.model.eval()
        names = [spec.name for spec in graph_specs(model, model_geometry(model))]
        variants = {f"{name} in FP16": {name} for name in names}
        variants["all graphs in FP16"] = set(names)
        variants["served: global_head float32, others FP16"] = set(names) - {"global_head"}
        reference = pipeline(model, set())
        results = {}
        for label, half in variants.items():
            print(f"{label} ...", file=sys.stderr)
            agreement = compare(
                reference, pipeline(model, half), images, model.config.num_attributes
            )
            results[label] = agreement.to_dict()
    report = {
        "checkpoint": str(args.checkpoint) if args.checkpoint else "random-init full size",
        "images": len(images),
        "attributes": model.config.num_attributes,
        "against": "all graphs in float32 (PyTorch, CPU)",
        "variants": results,
    }
    publish(report, args.out, "fp16.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
