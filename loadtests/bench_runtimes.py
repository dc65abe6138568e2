"""Benchmark: the bare CPU runtimes on the exported full-size ASEN++ graphs, in one process.

For every runtime (eager PyTorch, onnxruntime, OpenVINO) and precision (float32; INT8 with
`global_head` in float32, calibrated on synthetic data-set images), every graph is timed at
several batch sizes and thread layouts (streams x intra-op threads). Points are measured
round-robin, `--rounds` times, and the median is kept, so load from other programs on a shared
machine spreads over all of them instead of favouring whichever ran first.

The limit of a runtime is what one image costs through all three graphs at each graph's best
setting: images/s = 1 / sum over graphs of 1 / (graph images/s). The served ensemble runs the
same graphs (in parallel processes), so it cannot beat this figure; `bench_triton.py` compares
it with the served throughput.

    .venv/bin/python loadtests/bench_runtimes.py [--checkpoint MODEL] [--data SYNTH_ROOT]
        [--batches 1 4 16] [--layouts 1x1 1x2 2x1] [--rounds 3] [--out DIR]

Without --checkpoint a random-init full-size ASEN++ (8 attributes) is used: speed does not
depend on the weights. Without --data a small synthetic set is drawn for the calibration.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from bench_models import random_checkpoint, synthetic_set
from json_report import publish

from asen.checkpoint import load_checkpoint
from asen.data.dataset import open_dataset
from asen.export.onnx_graphs import export_graph, graph_specs, model_geometry
from asen.runtimes.int8 import INT8_GRAPHS, calibration_feeds, quantize_graph
from asen.runtimes.pipeline import GRAPHS
from asen.runtimes.sessions import open_session
from asen_contract.images import read_image_file

RUNTIMES = ("torch", "onnxruntime", "openvino")


@dataclass(frozen=True)
class Point:
    runtime: str
    precision: str
    graph: str
    batch: int
    streams: int
    threads: int


class TorchSession:
    """The graph's PyTorch module run eagerly: the in-process reference for the same work."""

    def __init__(self, module: torch.nn.Module, inputs: list[str], threads: int) -> None:
        self.module = module.eval()
        self.inputs = inputs
        self.threads = threads

    def run(self, feeds: dict) -> list:
        torch.set_num_threads(self.threads)
        with torch.inference_mode():
            result = self.module(*(torch.from_numpy(feeds[name]) for name in self.inputs))
        return list(result) if isinstance(result, tuple) else [result]


def prepare_graphs(checkpoint, folder: Path, data: Path, calibration: int) -> dict:
    """{precision: {graph: onnx path}}; INT8 calibrated on `calibration` training images."""
    model = checkpoint.model.eval()
    paths = {"float32": {}, "int8": {}}
    for spec in graph_specs(model, model_geometry(model)):
        path = folder / f"{spec.name}.onnx"
        export_graph(model, spec, path)
        paths["float32"][spec.name] = path
    images = [read_image_file(p) for p in open_dataset(data).images("train")[:calibration]]
    fp32 = {name: open_session(path) for name, path in paths["float32"].items()}
    started = time.perf_counter()
    feeds = calibration_feeds(fp32, checkpoint.config, images)
    for name, path in paths["float32"].items():
        if name in INT8_GRAPHS:
            paths["int8"][name] = folder / f"{name}.int8.onnx"
            quantize_graph(path, feeds[name], paths["int8"][name])
        else:
            paths["int8"][name] = path
    print(f"INT8 calibration: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return paths


def measure(sessions: list, feeds: dict, batch: int, seconds: float) -> float:
    """Images/s of `len(sessions)` streams each calling its session back to back."""
    counts = [0] * len(sessions)
    stop = time.perf_counter() + seconds

    def stream(index: int) -> None:
        while True:
            sessions[index].run(feeds)
            counts[index] += 1
            if time.perf_counter() >= stop and counts[index] >= 2:
                return

    started = time.perf_counter()
    workers = [threading.Thread(target=stream, args=(i,)) for i in range(len(sessions))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) * batch / (time.perf_counter() - started)


def pipeline_limit(best: dict[str, float]) -> float:
    """Images/s through all graphs when each graph runs at its own best setting."""
    return 1.0 / sum(1.0 / rate for rate in best.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None, help="synthetic set (calibration)")
    parser.add_argument("--calibration-images", type=int, default=64)
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--layouts", nargs="+", default=["1x1", "1x2", "2x1"],
                        help="STREAMSxTHREADS: parallel calls x intra-op threads each")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5, help="per point and round")
    parser.add_argument("--out", type=Path, default=None, help="write runtimes.json here")
    args = parser.parse_args()
    layouts = [tuple(int(v) for v in layout.split("x")) for layout in args.layouts]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        checkpoint = load_checkpoint(args.checkpoint or random_checkpoint(work / "asenpp.pt"))
        data = args.data
        if data is None:
            data = work / "synth"
            synthetic_set(data, train=args.calibration_images)
        print("exporting and calibrating ...", file=sys.stderr)
        paths = prepare_graphs(checkpoint, work, data, args.calibration_images)
        report = run_grid(checkpoint, paths, args, layouts)
    report["machine"] = {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()[0]}
    publish(report, args.out, "runtimes.json")
    return 0


def run_grid(checkpoint, paths: dict, args, layouts) -> dict:
    model = checkpoint.model.eval()
    specs = {spec.name: spec for spec in graph_specs(model, model_geometry(model))}
    sessions: dict[tuple, list] = {}
    points = []
    for runtime in args.runtimes:
        for precision in ("float32", "int8") if runtime != "torch" else ("float32",):
            for graph, spec in specs.items():
                if precision == "int8" and graph not in INT8_GRAPHS:
                    continue  # the same float32 graph: measured once
                for streams, threads in layouts:
                    key = (runtime, precision, graph, threads)
                    while len(sessions.setdefault(key, [])) < streams:
                        sessions[key].append(
                            TorchSession(spec.build(model), spec.inputs, threads)
                            if runtime == "torch"
                            else open_session(paths[precision][graph], runtime, threads)
                        )
                    for batch in args.batches:
                        points.append(Point(runtime, precision, graph, batch, streams, threads))
    torch.manual_seed(0)
    feeds = {
        (graph, batch): {
            name: tensor.numpy()
            for name, tensor in zip(spec.inputs, spec.example(batch, 1), strict=True)
        }
        for graph, spec in specs.items()
        for batch in args.batches
    }
    print(f"{len(points)} points x {args.rounds} rounds ...", file=sys.stderr)
    for point in points:  # warm-up: first calls allocate and pick kernels
        sessions[(point.runtime, point.precision, point.graph, point.threads)][0].run(
            feeds[(point.graph, point.batch)]
        )
    rates: dict[Point, list[float]] = {point: [] for point in points}
    for _ in range(args.rounds):
        for point in points:
            key = (point.runtime, point.precision, point.graph, point.threads)
            streams = sessions[key][: point.streams]
            rates[point].append(
                measure(streams, feeds[(point.graph, point.batch)], point.batch, args.seconds)
            )
    return summarise(rates, args)


def summarise(rates: dict[Point, list[float]], args) -> dict:
    median = {point: statistics.median(values) for point, values in rates.items()}
    table = [
        {
            **point.__dict__,
            "images_per_s": round(median[point], 2),
            "spread": round((max(rates[point]) - min(rates[point])) / median[point], 2),
        }
        for point in rates
    ]
    limits = {}
    for runtime in args.runtimes:
        for precision in ("float32", "int8"):
            best, settings = {}, {}
            for graph in GRAPHS:
                source = precision if graph in INT8_GRAPHS else "float32"
                candidates = [
                    p
                    for p in median
                    if (p.runtime, p.precision, p.graph) == (runtime, source, graph)
                ]
                if not candidates:
                    continue
                top = max(candidates, key=median.get)
                best[graph] = median[top]
                settings[graph] = f"batch {top.batch}, {top.streams}x{top.threads}"
            if len(best) == len(GRAPHS):
                limits[f"{runtime}/{precision}"] = {
                    "images_per_s": round(pipeline_limit(best), 2),
                    "per_graph_images_per_s": {g: round(v, 2) for g, v in best.items()},
                    "best_settings": settings,
                }
    reference = limits.get("torch/float32", {}).get("images_per_s")
    if reference:
        for limit in limits.values():
            limit["vs_torch_float32"] = round(limit["images_per_s"] / reference, 2)
    return {
        "model": "ASEN++ full size (ResNet-50 224 global, ResNet-34 112 local), K = 1",
        "limits": limits,
        "points": table,
        "settings": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "calibration_images": args.calibration_images,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
