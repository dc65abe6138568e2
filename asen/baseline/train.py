"""`asen train --baseline`: the triplet baseline with stage 1's schedule and evaluation.

Writes RUNDIR/baseline/{last,best}.pt and RUNDIR/baseline.pt (the best model), and uses the same
loader, triplets, loss, optimiser (Adam 1e-4, StepLR(3, 0.9)) and validation MAP as ASEN stage 1.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from asen.baseline.checkpoint import save_baseline
from asen.baseline.embed import baseline_embed_fn
from asen.baseline.model import BaselineConfig, TripletNet
from asen.baseline.step import BaselineTriplets
from asen.evaluation import EvaluationReport
from asen.model.imagenet import initialise_backbone
from asen.training.distributed import DistContext, run_in_context
from asen.training.optim import single_group_optimizer, step_scheduler
from asen.training.precision import Precision
from asen.training.run_setup import (
    echo_to_stderr,
    open_training_data,
    resume_record,
    run_logger,
    seed_everything,
    triplet_loader,
)
from asen.training.settings import TrainSettings
from asen.training.stage import StagePlan, run_stage
from asen.training.validation import validate

NAME = "baseline"


def train_baseline(settings: TrainSettings, context: DistContext | None = None) -> dict[str, Any]:
    return run_in_context(settings.device, context, lambda ctx: _train(settings, ctx))


def _train(settings: TrainSettings, context: DistContext) -> dict[str, Any]:
    started = time.perf_counter()
    log = run_logger(settings.out, context)
    if not settings.progress and context.is_main:
        echo_to_stderr(log)
    dataset = open_training_data(settings)
    seed_everything(settings.seed)
    config = BaselineConfig(settings.global_backbone, settings.embed_size, settings.global_size)
    model = TripletNet(config)
    initialise_backbone(model.basenet, config.backbone, settings.backbone_weights_global)
    model.to(context.device).train()
    optimizer = single_group_optimizer(model, settings.stage1_optim)
    embed_fn = baseline_embed_fn(model, context.device)

    def run_validation() -> EvaluationReport:
        return validate(
            embed_fn, model, dataset, "valid", settings.eval_batch_size, settings.progress
        )

    def save_best(path: Path, epoch: int, report: EvaluationReport) -> None:
        save_baseline(path, model, {"epoch": epoch, "valid_map": report.overall_map})

    plan = StagePlan(
        name=NAME,
        directory=settings.stage_dir(NAME),
        epochs=settings.epochs_stage1,
        model=model,
        step_module=context.wrap(BaselineTriplets(model)),
        optimizer=optimizer,
        scheduler=step_scheduler(optimizer, settings.stage1_optim),
        loader=triplet_loader(dataset, settings, context, with_sources=False),
        validate=run_validation,
        save_best=save_best,
        settings={**resume_record(settings), "stage": NAME},
    )
    precision = Precision(context.device, settings.amp, settings.amp_dtype)
    result = run_stage(
        plan, context, precision, log, settings.resume, settings.progress, settings.max_steps
    )
    final = Path(settings.out) / f"{NAME}.pt"
    if context.is_main:
        shutil.copyfile(result.best_path, final)
    return {
        "model": str(final),
        "best_valid_map": result.best_map,
        "best_stage": NAME,
        "best_epoch": result.best_epoch,
        "stages": {NAME: result.to_dict()},
        "world_size": context.world_size,
        "rank": context.rank,
        "seconds": time.perf_counter() - started,
    }
