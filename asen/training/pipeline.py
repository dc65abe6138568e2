"""`asen train`: the run's plans in order (stage 1 then stage 2, or the baseline); the best
model of the last one is copied to `RUNDIR/model.pt`.

With resume, a stage whose `last.pt` holds all its epochs is not run again, and an unfinished
one continues from its last completed epoch.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from asen.checkpoint import attribute_specs
from asen.model.imagenet import has_imagenet_weights
from asen.training.distributed import DistContext, run_in_context
from asen.training.plans import RunContext, build_plan
from asen.training.precision import Precision
from asen.training.run_setup import (
    open_training_data,
    rank_batch_size,
    run_logger,
    seed_everything,
)
from asen.training.settings import TrainSettings
from asen.training.stage import StageResult, run_stage

FINAL_MODEL = "model.pt"
OFFICIAL_BATCH = 16


def train(settings: TrainSettings, context: DistContext | None = None) -> dict[str, Any]:
    """Run the selected plans; returns the JSON summary (rank 0 writes every file)."""
    return run_in_context(settings.device, context, lambda ctx: _train(settings, ctx))


def _train(settings: TrainSettings, context: DistContext) -> dict[str, Any]:
    started = time.perf_counter()
    log = run_logger(settings.out, context, echo=not settings.progress)
    log.info("asen train: %s", settings.to_record())
    dataset = open_training_data(settings)
    precision = Precision(context.device, settings.amp, settings.amp_dtype)
    record = _deviations(settings, context, precision, log)
    run = RunContext(settings, dataset, attribute_specs(dataset.spec), context, record)
    results: dict[str, StageResult] = {}
    for index, name in enumerate(settings.stages):
        seed_everything(settings.seed + index + 1)
        plan = build_plan(name, run)
        for branch, start in plan.record["initialisation"].items():
            if start.get("warning"):
                log.warning("warning: %s", start["warning"])
            log.info("%s: %s branch starts from %s", name, branch, start)
        log.info("%s: %d parameters", name, sum(p.numel() for p in plan.model.parameters()))
        results[name] = run_stage(
            plan, context, precision, log, settings.resume, settings.progress, settings.max_steps
        )
        if plan.cropper is not None:
            plan.cropper.close()
    final = results[settings.stages[-1]]
    if context.is_main:
        shutil.copyfile(final.best_path, settings.out / FINAL_MODEL)
    summary = {
        "model": str(settings.out / FINAL_MODEL),
        "best_valid_map": final.best_map,
        "best_stage": final.name,
        "best_epoch": final.best_epoch,
        "valid_map_per_epoch": {
            name: [entry["valid_map"] for entry in result.history]
            for name, result in results.items()
        },
        "throughput": {name: result.throughput() for name, result in results.items()},
        "stages": {name: result.to_dict() for name, result in results.items()},
        **record,
        "world_size": context.world_size,
        "rank": context.rank,
        "seconds": time.perf_counter() - started,
    }
    log.info(
        "done: best valid MAP %.4f (%s epoch %d) -> %s",
        final.best_map,
        final.name,
        final.best_epoch,
        summary["model"],
    )
    return summary


def _deviations(settings: TrainSettings, context: DistContext, precision: Precision, log) -> dict:
    """Precision and effective batch, logged (with a warning where they leave the official
    recipe) and recorded in every checkpoint of the run."""
    effective = rank_batch_size(settings, context) * context.world_size
    record = {"precision": precision.describe(), "effective_batch": effective}
    if precision.enabled:
        log.warning("precision: %s, a deviation from the official float32", record["precision"])
    if effective != OFFICIAL_BATCH:
        log.info("effective batch: %d triplets per step (official: %d)", effective, OFFICIAL_BATCH)
    scratch = [
        f"{branch} {backbone}"
        for branch, backbone, weights in settings.initialised_backbones()
        if weights is None and has_imagenet_weights(backbone)
    ]
    if scratch:
        log.warning(
            "from scratch (%s): a deviation from the official ImageNet start", ", ".join(scratch)
        )
    return record
