"""`asen train`: stage 1, then stage 2 from the best stage-1 model; final `RUNDIR/model.pt`.

With `--resume`, a stage whose `last.pt` holds all its epochs is not run again, and an unfinished
one continues from its last completed epoch.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from asen.training.asen_stages import asen_plan, stage1_best, stage1_model, stage2_model
from asen.training.distributed import DistContext, run_in_context
from asen.training.precision import Precision
from asen.training.run_setup import (
    attribute_specs,
    echo_to_stderr,
    open_training_data,
    run_logger,
    seed_everything,
)
from asen.training.settings import TrainSettings
from asen.training.stage import StageResult, run_stage
from asen_contract.errors import AsenError

FINAL_MODEL = "model.pt"


def train(settings: TrainSettings, context: DistContext | None = None) -> dict[str, Any]:
    """Run the selected stages; returns the JSON summary (rank 0 writes every file)."""
    return run_in_context(settings.device, context, lambda ctx: _train(settings, ctx))


def _train(settings: TrainSettings, context: DistContext) -> dict[str, Any]:
    started = time.perf_counter()
    log = run_logger(settings.out, context)
    if not settings.progress and context.is_main:
        echo_to_stderr(log)
    log.info("asen train: %s", settings.to_record())
    dataset = open_training_data(settings)
    attributes = attribute_specs(dataset.spec)
    precision = Precision(context.device, settings.amp, settings.amp_dtype)
    results: dict[str, StageResult] = {}
    for stage in settings.stages:
        seed_everything(settings.seed + stage)
        if stage == 1:
            model = stage1_model(settings, dataset.spec.num_attributes)
        else:
            start = stage1_best(settings)
            if not start.is_file():
                raise AsenError(
                    f"stage 2 starts from the best stage-1 model, {start}, which does not exist; "
                    "run stage 1 first or pass --stage1-checkpoint"
                )
            model = stage2_model(settings, dataset.spec.num_attributes, start)
        plan = asen_plan(stage, model, settings, dataset, attributes, context)
        log.info("%s: %d parameters", plan.name, sum(p.numel() for p in model.parameters()))
        results[plan.name] = run_stage(
            plan, context, precision, log, settings.resume, settings.progress, settings.max_steps
        )
        if plan.cropper is not None:
            plan.cropper.close()
    final = results[f"stage{settings.stages[-1]}"]
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
