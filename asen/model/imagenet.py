"""ImageNet initialisation of the backbones from torchvision's weight files, checked by SHA-256.

The official code starts both backbones from torchvision's original ("V1") ImageNet weights,
downloaded by name: `resnet50-19c8e357.pth` and `resnet34-333f7ec4.pth` (the eight hex digits
of a torchvision file name are the start of the file's SHA-256). Newer torchvision releases
re-publish the V1 weights as `resnet50-0676ba61.pth` / `resnet34-b627a593.pth` and add other
networks (`resnet50-11ad3fa6.pth`, "IMAGENET1K_V2", trained with another recipe). Nothing is ever
downloaded here: the user passes the file, its hash says which one it is, and a file that is not
a V1 file is used with a warning that names the difference. The record of what was loaded goes
into the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asen.checkpoint import load_strict, read_torch_bytes, without_prefixes
from asen.model.resnet import TruncatedResNet
from asen_contract.errors import CheckpointError

DOWNLOAD_BASE = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class KnownFile:
    name: str  # torchvision's file name
    sha256: str  # the whole hash where known, else the prefix in the file's name
    weights: str  # "V1" (what the official code uses) or another torchvision release


KNOWN_FILES: dict[str, tuple[KnownFile, ...]] = {
    "resnet50": (
        KnownFile(
            "resnet50-19c8e357.pth",
            "19c8e3572231adff6824a2da93fd67b5986919a2e65f8b6007eab4edee220097",
            "V1",
        ),
        KnownFile("resnet50-0676ba61.pth", "0676ba61", "V1"),
        KnownFile("resnet50-11ad3fa6.pth", "11ad3fa6", "IMAGENET1K_V2"),
    ),
    "resnet34": (
        KnownFile("resnet34-333f7ec4.pth", "333f7ec4", "V1"),
        KnownFile(
            "resnet34-b627a593.pth",
            "b627a593bcbe140c234610266fe4f8ae95ea42fc881d091c9b6052e6b1d0590f",
            "V1",
        ),
    ),
    "resnet18": (
        KnownFile(
            "resnet18-5c106cde.pth",
            "5c106cde386e87d4033832f2996f5493238eda96ccf559d1d62760c4de0613f8",
            "V1",
        ),
        KnownFile("resnet18-f37072fd.pth", "f37072fd", "V1"),
    ),
}


def has_imagenet_weights(backbone: str) -> bool:
    """Backbones the official recipe starts from ImageNet (the narrow test backbone does not)."""
    return backbone in KNOWN_FILES


def official_file(backbone: str) -> KnownFile:
    """The V1 file the official code downloads for this backbone."""
    return KNOWN_FILES[backbone][0]


def where_to_get(backbone: str) -> str:
    """One line for help texts and messages: the official file's name and address."""
    known = official_file(backbone)
    return f"{known.name} ({DOWNLOAD_BASE}{known.name})"


@dataclass(frozen=True)
class Initialisation:
    """What a backbone started from; stored in checkpoints as a dict."""

    source: str  # "imagenet" or "scratch"
    file: str = ""
    sha256: str = ""
    known_as: str = ""  # e.g. "resnet50-19c8e357.pth (V1)"; empty for an unknown file
    warning: str = ""  # set when the file is not torchvision's V1 file for this backbone

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value}


SCRATCH = Initialisation("scratch")


def identify(backbone: str, sha256: str) -> tuple[str, str]:
    """(known_as, warning) for a weight file of this backbone with this SHA-256."""
    files = KNOWN_FILES.get(backbone, ())
    match = next((known for known in files if sha256.startswith(known.sha256)), None)
    v1 = " or ".join(known.name for known in files if known.weights == "V1")
    if match is not None and match.weights == "V1":
        return f"{match.name} (V1)", ""
    if match is not None:
        return f"{match.name} ({match.weights})", (
            f"{backbone} weights: this is torchvision's {match.weights} file {match.name}, a "
            f"network trained with another recipe than the V1 weights the official ASEN++ "
            f"code starts from ({v1})"
        )
    return "", (
        f"{backbone} weights: SHA-256 {sha256[:8]}... is not torchvision's V1 file ({v1}) that "
        "the official ASEN++ code starts from; training continues with this file and the "
        "checkpoint records its hash"
    )


def load_imagenet_backbone(backbone: TruncatedResNet, name: str, path: Path) -> Initialisation:
    """Load a torchvision `.pth` into a truncated backbone (layer4 and fc are left out; anything
    else must fit exactly) and say which file it was."""
    state, sha256 = read_torch_bytes(Path(path), "backbone weights")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(
            f"backbone weights {path}: not the state dict of a torchvision ResNet"
        )
    load_strict(backbone, state, f"backbone weights {path}", without_prefixes("layer4.", "fc."))
    known_as, warning = identify(name, sha256)
    return Initialisation("imagenet", Path(path).name, sha256, known_as, warning)


def initialise_backbone(backbone: TruncatedResNet, name: str, path: Path | None) -> Initialisation:
    """ImageNet weights from `path`, or a record that the backbone starts from scratch."""
    if path is None:
        return SCRATCH
    return load_imagenet_backbone(backbone, name, path)
