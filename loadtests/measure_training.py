"""Train and compare, on the synthetic garment set, within CPU minutes per model:

  (1) the untrained ASEN++ network, (2) the triplet baseline (no attribute conditioning),
  (3) ASEN stage 1 (global branch), (4) ASEN++ stage 2 (global + attention-cropped local).

All four are scored on the TEST split with the official MAP (per attribute and query-weighted
overall); stage 2 is also scored with its global and local parts alone, to show what the local
branch adds. Prints one JSON object (also RUNDIR/measurements.json) and draws
RUNDIR/map_per_attribute.png. The settings are deliberately small (tiny backbones, reduced image
sizes, a few thousand triplets, higher learning rates than the paper's 1e-4) so that each model
trains in about a quarter of an hour on two CPU cores; they are printed with the results.

    python loadtests/measure_training.py --data DIR --out RUNDIR
    (without --data, the synthetic set is generated into RUNDIR/synth first, by default its
    hard variant: the set loadtests/reports/training_synthetic.md was measured on)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asen.checkpoint import LoadedCheckpoint, attribute_specs, load_checkpoint
from asen.data.dataset import open_dataset
from asen.data.synth import SynthSettings, generate_synthetic_dataset
from asen.evaluation import EmbedFn, EvaluationReport, evaluate_embeddings
from asen.inference import Embedder
from asen.model.config import Architecture
from asen.model.network import ASEN
from asen.training.pipeline import train
from asen.training.run_setup import seed_everything
from asen.training.settings import STAGE1, STAGE2, TrainSettings
from asen.training.validation import asen_embed_fn


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="data set root (default: generate one)")
    parser.add_argument("--out", type=Path, default=Path("runs/measure-training"))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--embed-size", type=int, default=128)
    parser.add_argument("--global-size", type=int, default=112)
    parser.add_argument("--local-size", type=int, default=80)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--triplets-stage1", type=int, default=6000, help="per epoch")
    parser.add_argument("--epochs-stage1", type=int, default=3, help="also the baseline's")
    parser.add_argument("--triplets-stage2", type=int, default=4000, help="per epoch")
    parser.add_argument("--epochs-stage2", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3, help="stage 1, baseline, stage-2 local")
    parser.add_argument("--lr-slow", type=float, default=1e-4, help="stage-2 global branch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--difficulty", default="hard", choices=("easy", "hard"),
        help="synthetic set generated without --data (the report used hard)",
    )  # fmt: skip
    parser.add_argument("--progress", action="store_true", help="progress bars on stderr")
    return parser.parse_args()


class RecordingEmbedFn:
    """Scores the fused embedding and keeps each batch's branch parts, to replay them later
    through the same evaluation without a second model pass."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.recorded: dict[str, list[np.ndarray]] = {"global": [], "local": []}

    def __call__(self, images, attribute_ids) -> np.ndarray:
        embeddings = self.embedder.embed_pairs(list(images), attribute_ids)
        for name, part in (("global", embeddings.global_part), ("local", embeddings.local_part)):
            norms = np.linalg.norm(part, axis=1, keepdims=True)
            self.recorded[name].append(part / np.maximum(norms, 1e-12))
        return embeddings.fused

    def replay(self, name: str) -> EmbedFn:
        batches = iter(self.recorded[name])
        return lambda images, attribute_ids: next(batches)


def report_dict(report: EvaluationReport) -> dict[str, Any]:
    return {
        "overall_map": report.overall_map,
        "per_attribute": {name: entry["map"] for name, entry in report.per_attribute.items()},
        "triplet_accuracy": report.triplet_accuracy,
    }


def evaluate_asen(checkpoint: LoadedCheckpoint, dataset, progress: bool) -> dict:
    """Test MAP of the fused embedding; with a local branch, also of each part alone."""
    embedder = Embedder(checkpoint)
    if not checkpoint.config.has_local:
        embed = asen_embed_fn(checkpoint.model, checkpoint.attributes, torch.device("cpu"))
        return {"fused": report_dict(evaluate_embeddings(embed, dataset, "test", 64, progress))}
    recorder = RecordingEmbedFn(embedder)
    result = {"fused": report_dict(evaluate_embeddings(recorder, dataset, "test", 64, progress))}
    for name in ("global", "local"):
        replayed = evaluate_embeddings(recorder.replay(name), dataset, "test", 64, progress)
        result[name] = report_dict(replayed)
    return result


def draw_chart(path: Path, rows: dict[str, dict[str, Any]], attributes: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = list(rows)
    width = 0.8 / len(names)
    x = np.arange(len(attributes) + 1)
    figure, axes = pyplot.subplots(figsize=(12, 5))
    for index, name in enumerate(names):
        values = [100 * rows[name]["per_attribute"][a] for a in attributes]
        values.append(100 * rows[name]["overall_map"])
        axes.bar(x + (index - (len(names) - 1) / 2) * width, values, width, label=name)
    axes.set_xticks(x, [*attributes, "overall"], rotation=20)
    axes.set_ylabel("test MAP (%)")
    axes.set_title("Synthetic garments: MAP per attribute")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = args.data
    if data is None:
        data = out / "synth"
        if not (data / "attributes.json").is_file():
            generate_synthetic_dataset(
                data, SynthSettings(seed=args.seed, difficulty=args.difficulty), args.progress
            )
    dataset = open_dataset(data)
    attributes = attribute_specs(dataset.spec)

    common = TrainSettings(
        data=data,
        out=out / "asen",
        model=Architecture(
            global_backbone=args.backbone,
            local_backbone=args.backbone,
            embed_size=args.embed_size,
            global_size=args.global_size,
            local_size=args.local_size,
        ),
        batch_size=args.batch_size,
        stage1=dataclasses.replace(STAGE1, epochs=args.epochs_stage1, lr=args.lr),
        stage2=dataclasses.replace(
            STAGE2, epochs=args.epochs_stage2, lr=args.lr, global_lr=args.lr_slow
        ),
        triplets_per_epoch=args.triplets_stage1,
        from_scratch=True,
        seed=args.seed,
        progress=args.progress,
    )
    timings: dict[str, float] = {}
    results: dict[str, dict[str, Any]] = {}

    seed_everything(args.seed)
    untrained = ASEN(common.model.for_attributes(dataset.spec.num_attributes)).eval()
    untrained_checkpoint = LoadedCheckpoint(untrained, untrained.config, attributes, "untrained")
    results["untrained"] = evaluate_asen(untrained_checkpoint, dataset, args.progress)["fused"]

    clock = time.perf_counter()
    baseline_run = train(dataclasses.replace(common, out=out / "baseline", baseline=True))
    timings["baseline_train_seconds"] = time.perf_counter() - clock
    baseline = load_checkpoint(Path(baseline_run["model"]))
    results["triplet baseline"] = evaluate_asen(baseline, dataset, args.progress)["fused"]

    clock = time.perf_counter()
    stage1_run = train(dataclasses.replace(common, stage="1"))
    timings["stage1_train_seconds"] = time.perf_counter() - clock
    clock = time.perf_counter()
    stage2_run = train(
        dataclasses.replace(common, stage="2", triplets_per_epoch=args.triplets_stage2)
    )
    timings["stage2_train_seconds"] = time.perf_counter() - clock
    stage1 = load_checkpoint(Path(stage1_run["stages"]["stage1"]["best_checkpoint"]))
    results["ASEN stage 1 (global)"] = evaluate_asen(stage1, dataset, args.progress)["fused"]
    stage2 = load_checkpoint(Path(stage2_run["model"]))
    stage2_scores = evaluate_asen(stage2, dataset, args.progress)
    results["ASEN++ stage 2 (global+local)"] = stage2_scores["fused"]

    throughput = {
        "baseline": baseline_run["stages"]["baseline"]["triplets_per_second"],
        "stage1": stage1_run["stages"]["stage1"]["triplets_per_second"],
        "stage2": stage2_run["stages"]["stage2"]["triplets_per_second"],
    }
    summary = {
        "data": str(data),
        "settings": {
            key: value
            for key, value in vars(args).items()
            if key not in ("data", "out", "progress")
        },
        "test_map": results,
        "stage2_parts_test_map": {
            "global part only": stage2_scores["global"],
            "local part only": stage2_scores["local"],
        },
        "valid_map_per_epoch": {
            "baseline": baseline_run["stages"]["baseline"]["valid_map_per_epoch"],
            "stage1": stage1_run["stages"]["stage1"]["valid_map_per_epoch"],
            "stage2": stage2_run["stages"]["stage2"]["valid_map_per_epoch"],
        },
        "triplets_per_second": throughput,
        "stage2_roi_crop_share": stage2_run["stages"]["stage2"]["roi_share"],
        "stage2_data_seconds": sum(
            entry["data_seconds"] for entry in stage2_run["stages"]["stage2"]["epochs"]
        ),
        "timings": timings,
        "total_seconds": time.perf_counter() - started,
        "torch_threads": torch.get_num_threads(),
        "chart": str(out / "map_per_attribute.png"),
    }
    draw_chart(out / "map_per_attribute.png", results, list(dataset.spec.attributes))
    (out / "measurements.json").write_text(json.dumps(summary, indent=2) + "\n")
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
