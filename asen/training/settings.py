"""Everything one `asen train` run is configured by; defaults are the paper's recipe.

Stage 1: 50 epochs, Adam 1e-4, StepLR(3, 0.9). Stage 2: 20 epochs, Adam 1e-4 (local) / 1e-5
(global), StepLR(1, 0.9), RoI threshold 0.1, loss 1.0 global + 0.1 local + 0.1 alignment,
margin 0.2. Both: 100,000 fresh triplets per epoch in batches of 16, no augmentation, float32,
full-size ResNet-50 / ResNet-34 at 224 / 112 px started from torchvision's V1 ImageNet weights.
The `asen train` flags are generated from these fields (`asen.cli.settings_flags`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asen.model.config import Architecture
from asen.model.imagenet import has_imagenet_weights, where_to_get
from asen.setting import check_settings, setting
from asen.training.losses import LossSettings
from asen_contract.errors import ConfigError

DATASETS = ("auto", "fashionai", "darn", "deepfashion")
STAGES = {"1": ("stage1",), "2": ("stage2",), "both": ("stage1", "stage2")}
BASELINE = "baseline"
STAGE_STARTS = ("last", "best")


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One stage's optimiser schedule (the official SOLVER settings): Adam + StepLR."""

    epochs: int = setting(help="epochs", minimum=1)
    lr: float = setting(help="Adam learning rate", minimum=0.0)
    step_size: int = setting(help="StepLR: epochs between learning-rate decays", minimum=1)
    gamma: float = setting(help="StepLR: decay factor", minimum=0.0)

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True, kw_only=True)
class Stage2Schedule(Schedule):
    global_lr: float = setting(
        help="learning rate of the global branch and the shared attribute table", minimum=0.0
    )


STAGE1 = Schedule(epochs=50, lr=1e-4, step_size=3, gamma=0.9)
STAGE2 = Stage2Schedule(epochs=20, lr=1e-4, step_size=1, gamma=0.9, global_lr=1e-5)


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    data: Path = setting(help="data set root (official layout)")
    out: Path = setting(help="run directory (RUNDIR)")
    dataset: str = setting(
        "auto", "attribute table: built-in, or auto = the root's attributes.json", choices=DATASETS
    )
    stage: str = setting("both", "ASEN++ stages to run", choices=tuple(STAGES))
    baseline: bool = setting(
        False,
        "train the triplet network instead: stage 1's recipe with no attention anywhere, "
        "one attribute-blind embedding per image",
    )
    model: Architecture = setting(Architecture(), "model architecture", prefix="")
    backbone_weights_global: Path | None = setting(
        None,
        "ImageNet weights of the global backbone, a torchvision file; for resnet50: "
        f"{where_to_get('resnet50')}. Never downloaded",
    )
    backbone_weights_local: Path | None = setting(
        None, f"ImageNet weights of the local backbone; for resnet34: {where_to_get('resnet34')}"
    )
    from_scratch: bool = setting(
        False,
        "start ResNet backbones from random weights (a deviation: the official recipe "
        "starts both from ImageNet)",
    )
    stage1: Schedule = setting(STAGE1, "stage 1 (global branch) schedule", prefix="stage1_")
    stage2: Stage2Schedule = setting(STAGE2, "stage 2 (global + local) schedule", prefix="stage2_")
    stage2_start: str = setting(
        "last",
        "stage 2 starts from stage 1's last epoch (as the official README) or its best "
        "validation epoch",
        choices=STAGE_STARTS,
    )
    stage1_checkpoint: Path | None = setting(
        None, "start stage 2 from this checkpoint instead (e.g. an imported official model)"
    )
    loss: LossSettings = setting(LossSettings(), "losses", prefix="")
    triplets_per_epoch: int = setting(100_000, "fresh random triplets per epoch", minimum=1)
    batch_size: int = setting(
        16, "triplets per optimiser step, over all processes together", minimum=1
    )
    scale_batch: bool = setting(
        False,
        "several processes: each takes batch_size triplets, so the effective batch grows "
        "with their number (a deviation from the official 16)",
    )
    seed: int = setting(0, "seed of the triplets and the initialisation")
    resume: bool = setting(False, "continue each stage from RUNDIR/<stage>/last.pt")
    device: str = setting("cpu", "training device", choices=("cpu", "cuda"))
    amp: bool = setting(
        False,
        "mixed precision (fp16 on CUDA, bf16 on CPU): a deviation from the official float32",
    )
    amp_dtype: str = setting(
        "float16", "autocast type on CUDA with amp", choices=("float16", "bfloat16")
    )
    eval_batch_size: int = setting(64, "images per validation batch", minimum=1)
    workers: int = setting(0, "DataLoader worker processes (0: load in the training process)",
                           minimum=0)  # fmt: skip
    crop_threads: int = setting(2, "threads for stage 2's RoI crops", minimum=0)
    cache_mb: int = setting(2048, "decoded-image cache budget in MiB", minimum=0)
    progress: bool = setting(True, "progress bars on stderr")
    max_steps: int | None = setting(None, "stop each epoch after N steps (smoke runs)", minimum=1)

    def __post_init__(self) -> None:
        check_settings(self)
        if self.model.global_size % 16:
            raise ConfigError(
                f"global_size must be a multiple of 16 (the backbone's stride), "
                f"got {self.model.global_size}"
            )
        if self.model.local_backbone is None:
            raise ConfigError("local_backbone is required (stage 1 alone builds no local branch)")
        self._check_initialisation()

    @property
    def stages(self) -> tuple[str, ...]:
        """Names of the stages this run trains, in order."""
        return (BASELINE,) if self.baseline else STAGES[self.stage]

    @property
    def architecture(self) -> Architecture:
        """The network trained: the baseline is the global branch with no attention."""
        if not self.baseline:
            return self.model
        return dataclasses.replace(
            self.model, global_spatial_attention=False, global_channel_attention=False
        )

    def initialised_backbones(self) -> list[tuple[str, str, Path | None]]:
        """(branch, backbone, ImageNet file) of every backbone this run builds fresh."""
        found = []
        if set(self.stages) & {"stage1", BASELINE}:
            found.append(("global", self.model.global_backbone, self.backbone_weights_global))
        if "stage2" in self.stages:
            found.append(("local", str(self.model.local_backbone), self.backbone_weights_local))
        return found

    def _check_initialisation(self) -> None:
        for branch, backbone, weights in self.initialised_backbones():
            name = f"backbone_weights_{branch}"
            if weights is not None and not has_imagenet_weights(backbone):
                raise ConfigError(f"{name}: the {backbone} backbone has no ImageNet weights")
            if weights is not None and not Path(weights).is_file():
                raise ConfigError(f"{name}: {weights} does not exist")
            if weights is None and has_imagenet_weights(backbone) and not self.from_scratch:
                raise ConfigError(
                    f"the {branch} backbone ({backbone}) starts from ImageNet in the official "
                    f"recipe: set {name} to torchvision's {where_to_get(backbone)}, or set "
                    "from_scratch to train from random weights"
                )

    def stage_dir(self, name: str) -> Path:
        return Path(self.out) / name

    def to_record(self) -> dict[str, Any]:
        """JSON-friendly copy, stored in training states and checkpoints, and logged."""
        return _jsonable(dataclasses.asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value
