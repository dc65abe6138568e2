"""Run the epochs of one stage: train, validate, keep the best, write the resumable state.

Shared by ASEN stage 1, ASEN stage 2 and the triplet baseline: what differs between them (the
step module, the optimiser, how to validate and how to save the best model) comes in a StagePlan
(`asen.training.plans`).
Per epoch, in the official order: train, validate, save if best, step the scheduler; then
`last.pt` is written, so a resumed run starts the next epoch with exactly this state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asen.evaluation import EvaluationReport
from asen.training.distributed import DistContext
from asen.training.local_crops import LocalCropper
from asen.training.loop import EpochStats, train_epoch
from asen.training.precision import Precision
from asen.training.state import (
    TrainingState,
    capture_rng,
    load_training_state,
    restore_rng,
    save_training_state,
)
from asen.training.triplet_loader import TripletLoader
from asen_contract.errors import ConfigError

LAST = "last.pt"
BEST = "best.pt"


@dataclass
class StagePlan:
    name: str
    directory: Path
    epochs: int
    model: nn.Module  # the bare network: state dicts, validation
    step_module: nn.Module  # what is called per batch (DDP-wrapped when distributed)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loader: TripletLoader
    validate: Callable[[], EvaluationReport]
    save_best: Callable[[Path, int, EvaluationReport], None]
    settings: dict[str, Any]  # must match on resume
    record: dict[str, Any] = field(default_factory=dict)  # what the stage's checkpoints record
    cropper: LocalCropper | None = None


@dataclass
class StageResult:
    name: str
    best_map: float
    best_epoch: int
    best_path: Path
    history: list[dict[str, Any]] = field(default_factory=list)

    def throughput(self) -> dict[str, float]:
        """Triplets/s and RoI-crop share over all epochs this stage has run."""
        triplets = sum(entry["triplets"] for entry in self.history)
        seconds = sum(entry["train_seconds"] for entry in self.history)
        roi = sum(entry["roi_seconds"] for entry in self.history)
        return {
            "triplets_per_second": triplets / seconds if seconds else 0.0,
            "roi_share": roi / seconds if seconds else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "best_valid_map": self.best_map,
            "best_epoch": self.best_epoch,
            "best_checkpoint": str(self.best_path),
            "valid_map_per_epoch": [entry["valid_map"] for entry in self.history],
            **self.throughput(),
            "epochs": self.history,
        }


def run_stage(
    plan: StagePlan,
    context: DistContext,
    precision: Precision,
    log: logging.Logger,
    resume: bool = False,
    progress: bool = True,
    max_steps: int | None = None,
) -> StageResult:
    last_path = plan.directory / LAST
    result = StageResult(plan.name, -1.0, 0, plan.directory / BEST)
    start = 0
    if resume and last_path.is_file():
        start = _restore(plan, precision, result, last_path)
        log.info("%s: resumed after epoch %d (best MAP %.4f)", plan.name, start, result.best_map)
    elif context.is_main:
        plan.directory.mkdir(parents=True, exist_ok=True)
    for epoch in range(start, plan.epochs):
        lrs = [group["lr"] for group in plan.optimizer.param_groups]
        log.info("%s epoch %d/%d: learning rates %s", plan.name, epoch + 1, plan.epochs, lrs)
        stats = train_epoch(
            plan.step_module,
            plan.loader.epoch(epoch),
            len(plan.loader),
            plan.optimizer,
            precision,
            context.device,
            plan.cropper,
            description=f"{plan.name} {epoch + 1}/{plan.epochs}",
            progress=progress and context.is_main,
            max_steps=max_steps,
        )
        valid_map, report = -1.0, None
        if context.is_main:
            report = plan.validate()
            valid_map = report.overall_map
        valid_map = context.broadcast_float(valid_map)
        if valid_map > result.best_map:
            result.best_map, result.best_epoch = valid_map, epoch + 1
            if context.is_main and report is not None:
                plan.save_best(result.best_path, epoch + 1, report)
        plan.scheduler.step()
        entry = _history_entry(epoch + 1, lrs, stats, context, valid_map, report)
        result.history.append(entry)
        log.info(
            "%s epoch %d: losses %s, valid MAP %.4f (best %.4f @ %d), %.1f triplets/s, "
            "RoI crop %.1f%% of training time",
            plan.name,
            epoch + 1,
            {k: round(v, 4) for k, v in stats.losses.items()},
            valid_map,
            result.best_map,
            result.best_epoch,
            entry["triplets_per_second"],
            100 * entry["roi_share"],
        )
        if context.is_main:
            save_training_state(last_path, _state(plan, precision, result, epoch + 1))
        context.barrier()
    return result


def _restore(plan: StagePlan, precision: Precision, result: StageResult, path: Path) -> int:
    state = load_training_state(path)
    if state.stage != plan.name:
        raise ConfigError(f"{path} belongs to {state.stage}, not {plan.name}")
    changed = sorted(k for k in plan.settings if state.settings.get(k) != plan.settings[k])
    if changed:
        raise ConfigError(
            f"cannot resume {path}: settings differ from the saved run ({', '.join(changed)})"
        )
    plan.model.load_state_dict(state.model)
    plan.optimizer.load_state_dict(state.optimizer)
    plan.scheduler.load_state_dict(state.scheduler)
    if state.scaler:
        precision.scaler.load_state_dict(state.scaler)
    restore_rng(state.rng)
    result.best_map, result.best_epoch = state.best_map, state.best_epoch
    result.history = list(state.history)
    return state.epoch


def _state(plan: StagePlan, precision: Precision, result: StageResult, epoch: int):
    return TrainingState(
        stage=plan.name,
        epoch=epoch,
        best_map=result.best_map,
        best_epoch=result.best_epoch,
        history=result.history,
        settings=plan.settings,
        model={k: v.detach().cpu() for k, v in plan.model.state_dict().items()},
        optimizer=plan.optimizer.state_dict(),
        scheduler=plan.scheduler.state_dict(),
        scaler=precision.scaler.state_dict() if precision.scaler.is_enabled() else {},
        rng=capture_rng(),
        record=plan.record,
    )


def _history_entry(
    epoch: int,
    lrs: list[float],
    stats: EpochStats,
    context: DistContext,
    valid_map: float,
    report: EvaluationReport | None,
) -> dict[str, Any]:
    triplets = context.sum_over_ranks(stats.triplets)
    seconds = context.mean_over_ranks(stats.seconds)
    roi_seconds = context.mean_over_ranks(stats.roi_seconds)
    return {
        "epoch": epoch,
        "learning_rates": lrs,
        "losses": {k: context.mean_over_ranks(v) for k, v in sorted(stats.losses.items())},
        "valid_map": valid_map,
        "valid_per_attribute": (
            {name: entry["map"] for name, entry in report.per_attribute.items()} if report else {}
        ),
        "triplets": int(triplets),
        "train_seconds": seconds,
        "data_seconds": context.mean_over_ranks(stats.data_seconds),
        "roi_seconds": roi_seconds,
        "triplets_per_second": triplets / seconds if seconds else 0.0,
        "roi_share": roi_seconds / seconds if seconds else 0.0,
        "eval_seconds": report.seconds if report else 0.0,
    }
