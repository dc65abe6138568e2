"""The training plans of one run: ASEN++ stage 1, stage 2, or the triplet baseline.

Every plan is the same loop (`asen.training.stage.run_stage`) with its own model, step,
optimiser and schedule. Stage 1 trains a global-only network (an ASEN model in its own right);
the baseline is that network with no attention (one attribute-blind embedding per image). Stage
2 builds the full global + local network, takes the global branch (and the shared attribute
table) from stage 1 - its last epoch by default, as the official README resumes from
`checkpoint.pth.tar`, or its best validation epoch, or a given checkpoint - starts the local
backbone from ImageNet, and trains both with the stage-2 loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from asen.checkpoint import (
    AttributeSpec,
    load_checkpoint,
    load_strict,
    save_checkpoint,
    under_prefix,
)
from asen.data.dataset import FashionDataset
from asen.evaluation import EvaluationReport
from asen.model.config import ModelConfig
from asen.model.imagenet import initialise_backbone
from asen.model.network import ASEN
from asen.training.distributed import DistContext
from asen.training.local_crops import LocalCropper
from asen.training.optim import single_group_optimizer, stage2_optimizer, step_scheduler
from asen.training.run_setup import resume_record, triplet_loader
from asen.training.settings import Schedule, TrainSettings
from asen.training.stage import BEST, LAST, StagePlan
from asen.training.state import load_training_state
from asen.training.steps import GlobalLocalTriplets, GlobalTriplets
from asen.training.validation import asen_embed_fn, validate
from asen_contract.errors import CheckpointError, ConfigError

GLOBAL_PREFIX = "choices.global."


@dataclass
class RunContext:
    """What every plan of a run shares."""

    settings: TrainSettings
    dataset: FashionDataset
    attributes: list[AttributeSpec]
    context: DistContext
    record: dict[str, Any]  # precision, effective batch: recorded in every checkpoint


@dataclass
class _Parts:
    """What differs between the plans."""

    model: ASEN
    initialisation: dict[str, Any]
    schedule: Schedule
    step: nn.Module
    optimizer: torch.optim.Optimizer
    cropper: LocalCropper | None = None


def _global_only_parts(run: RunContext) -> _Parts:
    """Stage 1 and the baseline: a global-only network, trained alone."""
    settings = run.settings
    config = settings.architecture.for_attributes(len(run.attributes), local=False)
    model = ASEN(config)
    start = initialise_backbone(
        model.choices["global"]["basenet"], config.global_backbone, settings.backbone_weights_global
    )
    return _Parts(
        model,
        {"global": start.to_dict()},
        settings.stage1,
        GlobalTriplets(model, settings.loss),
        single_group_optimizer(model, settings.stage1),
    )


def _stage2_parts(run: RunContext) -> _Parts:
    """Stage 2: the full network; the global branch from stage 1, the local one from ImageNet."""
    settings = run.settings
    config = settings.architecture.for_attributes(len(run.attributes))
    model = ASEN(config)
    start, start_record = _global_start(run, config)
    source = str(start_record["from"])
    load_strict(model.choices["global"], start, source, under_prefix(GLOBAL_PREFIX))
    local = initialise_backbone(
        model.choices["local"]["basenet"],
        config.branch("local").backbone,
        settings.backbone_weights_local,
    )
    cropper = LocalCropper(
        config.global_size, config.local_size, config.threshold, settings.crop_threads
    )
    return _Parts(
        model,
        {"global": start_record, "local": local.to_dict()},
        settings.stage2,
        GlobalLocalTriplets(model, cropper, settings.loss),
        stage2_optimizer(model, settings.stage2),
        cropper,
    )


def build_plan(name: str, run: RunContext) -> StagePlan:
    settings = run.settings
    parts = _stage2_parts(run) if name == "stage2" else _global_only_parts(run)
    model, schedule, optimizer = parts.model, parts.schedule, parts.optimizer
    context = run.context
    model.to(context.device).train()
    record = {**run.record, "stage": name, "initialisation": parts.initialisation}
    embed_fn = asen_embed_fn(model, run.attributes, context.device)

    def run_validation() -> EvaluationReport:
        return validate(
            embed_fn, model, run.dataset, "valid", settings.eval_batch_size, settings.progress
        )

    def save_best(path: Path, epoch: int, report: EvaluationReport) -> None:
        extra = {**record, "epoch": epoch, "valid_map": report.overall_map}
        save_checkpoint(path, model, run.attributes, run.dataset.spec.name, extra)

    return StagePlan(
        name=name,
        directory=settings.stage_dir(name),
        epochs=schedule.epochs,
        model=model,
        step_module=context.wrap(parts.step),
        optimizer=optimizer,
        scheduler=step_scheduler(optimizer, schedule),
        loader=triplet_loader(run.dataset, settings, context, with_sources=name == "stage2"),
        validate=run_validation,
        save_best=save_best,
        settings={**resume_record(settings), "stage": name},
        record=record,
        cropper=parts.cropper,
    )


def _global_start(run: RunContext, config: ModelConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stage 2's global branch: a state dict (full-model names) and where it came from."""
    settings = run.settings
    if settings.stage1_checkpoint is not None or settings.stage2_start == "best":
        path = settings.stage1_checkpoint or settings.stage_dir("stage1") / BEST
        _require(path)
        stage1 = load_checkpoint(path)
        # A full ASEN++ checkpoint (e.g. an imported official one) may start stage 2 as well.
        if _global_part(stage1.config) != _global_part(config):
            raise CheckpointError(
                f"{path} was trained with another global architecture: "
                f"{_global_part(stage1.config)} vs {_global_part(config)}"
            )
        origin = stage1.extra.get("initialisation", {}).get("global")
        record = {"from": str(path), "sha256": stage1.sha256, "stage1_started_from": origin}
        return stage1.model.state_dict(), record
    path = settings.stage_dir("stage1") / LAST
    _require(path)
    state = load_training_state(path)
    origin = state.record.get("initialisation", {}).get("global")
    record = {"from": f"{path} (epoch {state.epoch})", "stage1_started_from": origin}
    return state.model, record


def _require(path: Path) -> None:
    if not Path(path).is_file():
        raise ConfigError(
            f"stage 2 starts from stage 1 ({path}), which does not exist; run stage 1 first "
            "(stage both) or set stage1_checkpoint"
        )


def _global_part(config: ModelConfig) -> tuple[Any, ...]:
    """What shapes the global branch's weights."""
    return (
        config.num_attributes,
        config.attribute_embed_size,
        config.embed_size,
        config.branch("global"),
    )
