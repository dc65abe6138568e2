"""What the demo builds and where: small enough to train on a 2-core CPU in a few minutes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoSettings:
    workdir: Path = Path("runs/demo")
    seed: int = 0
    train_images: int = 1500
    valid_images: int = 300
    test_images: int = 300
    image_size: int = 160
    global_backbone: str = "tiny"
    local_backbone: str = "tiny"
    global_size: int = 112
    local_size: int = 80
    embed_size: int = 128
    epochs_stage1: int = 4
    epochs_stage2: int = 1
    triplets_per_epoch: int = 4800
    learning_rate: float = 1e-3  # small backbones from scratch learn faster than the paper's 1e-4
    learning_rate_slow: float = 1e-4

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def run(self) -> Path:
        return self.workdir / "train"

    @property
    def model(self) -> Path:
        return self.run / "model.pt"

    @property
    def repository(self) -> Path:
        return self.workdir / "repository"

    @property
    def pictures(self) -> Path:
        return self.workdir / "pictures"
