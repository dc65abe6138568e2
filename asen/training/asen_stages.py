"""The two ASEN++ stages: build each stage's model, optimiser and step module.

Stage 1 trains a global-only network (an ASEN model in its own right). Stage 2 builds the full
global + local network, copies the global branch (and the shared attribute table) from the best
stage-1 checkpoint, initialises the local backbone from ImageNet weights when given, and trains
both with the stage-2 loss.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
from asen.training.settings import TrainSettings
from asen.training.stage import BEST, StagePlan
from asen.training.steps import GlobalLocalTriplets, GlobalTriplets
from asen.training.validation import asen_embed_fn, validate
from asen_contract.errors import CheckpointError

GLOBAL_PREFIX = "choices.global."


def model_config(settings: TrainSettings, num_attributes: int, with_local: bool) -> ModelConfig:
    return ModelConfig(
        num_attributes=num_attributes,
        global_backbone=settings.global_backbone,
        local_backbone=settings.local_backbone if with_local else None,
        embed_size=settings.embed_size,
        spatial_attention=settings.spatial_attention,
        channel_attention=settings.channel_attention,
        global_size=settings.global_size,
        local_size=settings.local_size,
        threshold=settings.threshold,
    )


def stage1_model(settings: TrainSettings, num_attributes: int) -> ASEN:
    model = ASEN(model_config(settings, num_attributes, with_local=False))
    initialise_backbone(
        model.choices["global"]["basenet"],
        settings.global_backbone,
        settings.backbone_weights_global,
    )
    return model


def stage2_model(settings: TrainSettings, num_attributes: int, stage1_path: Path) -> ASEN:
    """Full network; global branch + attribute table from the stage-1 checkpoint."""
    config = model_config(settings, num_attributes, with_local=True)
    model = ASEN(config)
    initialise_backbone(
        model.choices["local"]["basenet"], settings.local_backbone, settings.backbone_weights_local
    )
    stage1 = load_checkpoint(stage1_path)
    expected = dataclasses.replace(config, local_backbone=None)
    # A full ASEN++ checkpoint (e.g. an imported official one) may start stage 2 as well.
    found = dataclasses.replace(stage1.config, threshold=config.threshold, local_backbone=None)
    if found != expected:
        raise CheckpointError(
            f"{stage1_path} was trained with another global architecture: "
            f"{stage1.config} vs {expected}"
        )
    load_strict(
        model.choices["global"],
        stage1.model.state_dict(),
        f"{stage1_path} (the global branch)",
        under_prefix(GLOBAL_PREFIX),
    )
    return model


def asen_plan(
    stage: int,
    model: ASEN,
    settings: TrainSettings,
    dataset: FashionDataset,
    attributes: list[AttributeSpec],
    context: DistContext,
) -> StagePlan:
    name = f"stage{stage}"
    model.to(context.device).train()
    cropper = None
    if stage == 1:
        step_module = GlobalTriplets(model)
        optim = settings.stage1_optim
        optimizer = single_group_optimizer(model, optim)
        epochs = settings.epochs_stage1
    else:
        cropper = LocalCropper(
            settings.global_size, settings.local_size, settings.threshold, settings.crop_threads
        )
        step_module = GlobalLocalTriplets(model, cropper, settings.loss_weights)
        optim = settings.stage2_optim
        optimizer = stage2_optimizer(model, optim)
        epochs = settings.epochs_stage2
    embed_fn = asen_embed_fn(model, attributes, context.device)

    def run_validation() -> EvaluationReport:
        return validate(
            embed_fn, model, dataset, "valid", settings.eval_batch_size, settings.progress
        )

    def save_best(path: Path, epoch: int, report: EvaluationReport) -> None:
        extra = {"stage": stage, "epoch": epoch, "valid_map": report.overall_map}
        save_checkpoint(path, model, attributes, dataset.spec.name, extra)

    return StagePlan(
        name=name,
        directory=settings.stage_dir(name),
        epochs=epochs,
        model=model,
        step_module=context.wrap(step_module),
        optimizer=optimizer,
        scheduler=step_scheduler(optimizer, optim),
        loader=triplet_loader(dataset, settings, context, with_sources=stage == 2),
        validate=run_validation,
        save_best=save_best,
        settings={**resume_record(settings), "stage": stage},
        cropper=cropper,
    )


def stage1_best(settings: TrainSettings) -> Path:
    return settings.stage1_checkpoint or settings.stage_dir("stage1") / BEST
