"""The project's model checkpoint: weights plus everything needed to use them.

A checkpoint records the architecture (ModelConfig), the attribute names and value counts,
and the state dict, so `asen embed`, `asen evaluate` and `asen export` need nothing else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from asen.checkpoint.strict_load import load_strict
from asen.checkpoint.torch_file import read_torch_file, save_torch_file
from asen.data.metadata import DatasetSpec
from asen.model.config import ModelConfig
from asen.model.network import ASEN
from asen_contract.attribute_names import find_attribute, name_lookup
from asen_contract.errors import CheckpointError

FORMAT = "asen-serving-checkpoint"
FORMAT_VERSION = 2
# Version 1 had one attention setting for both branches; version 2 has one per branch.
_V1_SHARED = ("spatial_attention", "channel_attention", "reduction_rate")


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    num_values: int
    value_names: list[str] | None = None
    aliases: list[str] | None = None  # other spellings accepted where a name is read


@dataclass
class LoadedCheckpoint:
    model: ASEN
    config: ModelConfig
    attributes: list[AttributeSpec]
    sha256: str
    dataset: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        """Short, stable identity of the weights: part of every embedding's provenance."""
        return f"ckpt-{self.sha256[:12]}"

    def attribute_index(self, name: str) -> int:
        """Index of an attribute by name or alias (asen_contract.attribute_names)."""
        lookup = name_lookup(
            [spec.name for spec in self.attributes],
            [spec.aliases or () for spec in self.attributes],
        )
        found = find_attribute(lookup, name)
        if found is not None:
            return found
        known = ", ".join(spec.name for spec in self.attributes)
        raise CheckpointError(f"unknown attribute {name!r}; this model knows: {known}")


def attribute_specs(spec: DatasetSpec) -> list[AttributeSpec]:
    """The checkpoint's attribute table for a data set: names, value counts and names, aliases."""
    return [
        AttributeSpec(
            name,
            spec.num_values[index],
            list(spec.value_names[index]) if spec.value_names else None,
            list(spec.aliases[index]) if spec.aliases else None,
        )
        for index, name in enumerate(spec.attributes)
    ]


def save_checkpoint(
    path: Path,
    model: ASEN,
    attributes: list[AttributeSpec],
    dataset: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """Write atomically and return the file's SHA-256."""
    if len(attributes) != model.config.num_attributes:
        raise CheckpointError(
            f"{len(attributes)} attribute specs for a model of {model.config.num_attributes}"
        )
    payload = {
        "config": model.config.to_dict(),
        "attributes": [asdict(spec) for spec in attributes],
        "dataset": dataset,
        "extra": extra or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    return save_torch_file(path, FORMAT, FORMAT_VERSION, payload)


def load_checkpoint(path: Path, device: str = "cpu") -> LoadedCheckpoint:
    stored = read_torch_file(
        path,
        FORMAT,
        {1, FORMAT_VERSION},
        "checkpoint",
        not_this_kind="an official ASEN++ checkpoint must be converted first: "
        "asen import-official CHECKPOINT --dataset ... --out MODEL",
    )
    payload = stored.payload
    config = ModelConfig.from_dict(_per_branch(payload["config"], stored.version))
    model = ASEN(config)
    load_strict(model, payload["state_dict"], str(path))
    model.to(device).eval()
    return LoadedCheckpoint(
        model=model,
        config=config,
        attributes=[AttributeSpec(**spec) for spec in payload["attributes"]],
        sha256=stored.sha256,
        dataset=payload.get("dataset", ""),
        extra=payload.get("extra", {}),
    )


def _per_branch(config: dict[str, Any], version: int) -> dict[str, Any]:
    """A version-1 config's shared attention settings, given to each branch."""
    if version != 1:
        return config
    config = dict(config)
    for name in _V1_SHARED:
        if name in config:
            value = config.pop(name)
            config[f"global_{name}"] = config[f"local_{name}"] = value
    return config
