"""Everything one `asen train` run is configured by; defaults are the paper's recipe.

Stage 1: 50 epochs, Adam 1e-4, StepLR(3, 0.9). Stage 2: 20 epochs, Adam 1e-4 (local) / 1e-5
(global), StepLR(1, 0.9), RoI threshold 0.1. Both: 100,000 fresh triplets per epoch in batches of
16, no augmentation, full-size ResNet-50 / ResNet-34 at 224 / 112 px.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asen.training.losses import LossWeights
from asen.training.optim import STAGE1, STAGE2, OptimSettings
from asen_contract.errors import AsenError


@dataclass(frozen=True)
class TrainSettings:
    data: Path
    out: Path
    dataset: str | None = None  # None: the root's attributes.json
    stages: tuple[int, ...] = (1, 2)
    epochs_stage1: int = 50
    epochs_stage2: int = 20
    triplets_per_epoch: int = 100_000
    batch_size: int = 16
    global_backbone: str = "resnet50"
    local_backbone: str = "resnet34"
    backbone_weights_global: Path | None = None
    backbone_weights_local: Path | None = None
    embed_size: int = 1024
    global_size: int = 224
    local_size: int = 112
    spatial_attention: bool = True
    channel_attention: bool = True
    threshold: float = 0.1
    stage1_optim: OptimSettings = STAGE1
    stage2_optim: OptimSettings = STAGE2
    loss_weights: LossWeights = LossWeights()
    stage1_checkpoint: Path | None = None  # stage 2's starting point; default RUNDIR/stage1/best.pt
    resume: bool = False
    device: str = "cpu"
    amp: bool = False
    amp_dtype: str = "float16"
    seed: int = 0
    eval_batch_size: int = 64
    workers: int = 0
    crop_threads: int = 2
    cache_mb: int = 2048
    progress: bool = True
    max_steps: int | None = None  # per epoch: smoke runs and tests

    def __post_init__(self) -> None:
        positive = {
            "--epochs-stage1": self.epochs_stage1,
            "--epochs-stage2": self.epochs_stage2,
            "--triplets-per-epoch": self.triplets_per_epoch,
            "--batch-size": self.batch_size,
            "--embed-size": self.embed_size,
            "--global-size": self.global_size,
            "--local-size": self.local_size,
            "--eval-batch-size": self.eval_batch_size,
        }
        for flag, value in positive.items():
            if value < 1:
                raise AsenError(f"{flag} must be at least 1, got {value}")
        if self.global_size % 16:
            raise AsenError(f"--global-size must be a multiple of 16, got {self.global_size}")
        if self.workers < 0 or self.crop_threads < 0 or self.cache_mb < 0:
            raise AsenError("--workers, --crop-threads and --cache-mb cannot be negative")
        if not self.stages or any(stage not in (1, 2) for stage in self.stages):
            raise AsenError(f"unknown stage selection {self.stages}")
        if self.device not in ("cpu", "cuda"):
            raise AsenError(f"--device must be cpu or cuda, got {self.device!r}")
        for path in (self.backbone_weights_global, self.backbone_weights_local):
            if path is not None and not Path(path).is_file():
                raise AsenError(f"backbone weights {path} do not exist")

    def stage_dir(self, name: str) -> Path:
        return Path(self.out) / name

    def to_record(self) -> dict[str, Any]:
        """JSON-friendly copy, stored in training states and logged."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value
