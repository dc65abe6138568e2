"""ImageNet initialisation: torchvision's files load into the truncated backbones, and the file's
SHA-256 says whether it is the V1 file the official code starts from."""

from __future__ import annotations

import hashlib

import pytest
import torch

from asen.model.imagenet import (
    KNOWN_FILES,
    SCRATCH,
    identify,
    initialise_backbone,
    load_imagenet_backbone,
)
from asen.model.resnet import build_backbone
from asen_contract.errors import CheckpointError


def _torchvision_file(path, backbone: str = "resnet18"):
    """A file laid out like torchvision's: the whole ResNet, with layer4 and fc."""
    state = dict(build_backbone(backbone).state_dict())
    state["layer4.0.conv1.weight"] = torch.zeros(1)
    state["fc.weight"] = torch.zeros(1000, 512)
    torch.save(state, path)
    return state


def test_a_torchvision_layout_file_loads_and_is_recorded(tmp_path) -> None:
    path = tmp_path / "resnet18-custom.pth"
    state = _torchvision_file(path)
    backbone = build_backbone("resnet18")
    record = load_imagenet_backbone(backbone, "resnet18", path)
    assert torch.equal(
        backbone.state_dict()["layer3.1.bn2.running_var"], state["layer3.1.bn2.running_var"]
    )
    assert record.source == "imagenet" and record.file == path.name
    assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.known_as == ""
    assert (
        "not torchvision's V1 file (resnet18-5c106cde.pth or resnet18-f37072fd.pth)"
        in record.warning
    )


def test_wrong_backbone_file_is_refused(tmp_path) -> None:
    _torchvision_file(tmp_path / "resnet18.pth", "resnet18")
    with pytest.raises(CheckpointError, match="missing"):
        load_imagenet_backbone(build_backbone("resnet34"), "resnet34", tmp_path / "resnet18.pth")


@pytest.mark.parametrize(
    ("backbone", "sha256", "known_as", "warns"),
    [
        ("resnet50", KNOWN_FILES["resnet50"][0].sha256, "resnet50-19c8e357.pth (V1)", False),
        ("resnet50", "0676ba61" + "0" * 56, "resnet50-0676ba61.pth (V1)", False),
        ("resnet34", "333f7ec4" + "f" * 56, "resnet34-333f7ec4.pth (V1)", False),
        ("resnet50", "11ad3fa6" + "0" * 56, "resnet50-11ad3fa6.pth (IMAGENET1K_V2)", True),
        ("resnet50", "19c8e357" + "0" * 56, "", True),  # the name's prefix, another file
    ],
)
def test_files_are_identified_by_their_hash(backbone, sha256, known_as, warns) -> None:
    found, warning = identify(backbone, sha256)
    assert found == known_as
    assert bool(warning) == warns
    if known_as.endswith("(IMAGENET1K_V2)"):
        assert "another recipe" in warning and "resnet50-19c8e357.pth" in warning


def test_no_file_means_scratch() -> None:
    assert initialise_backbone(build_backbone("tiny"), "tiny", None) is SCRATCH
