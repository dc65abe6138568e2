"""The served model's description: what the exporter writes into the Triton configs and what the
gateway and the Triton Python models read back.

The exporter writes `to_triton_parameters()` as string parameters of the ensemble and of the
Python models; `from_triton_config` parses a config as Triton returns it (tritonclient's
`get_model_config(..., as_json=True)`, or a Python model's `args["model_config"]`). The gateway
needs the version (cache keys), the attributes (names -> ids), beta and the dimensions (to split
fused embeddings) and the image limits; the Python models need the geometry and the same limits,
so the gateway and Triton refuse the same images.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from asen_contract.attribute_names import find_attribute, name_lookup
from asen_contract.errors import InvalidInput
from asen_contract.images import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_PIXELS, ImageLimits


@dataclass(frozen=True)
class AttributeSpec:
    id: int
    name: str
    num_values: int
    value_names: tuple[str, ...]
    aliases: tuple[
        str, ...
    ] = ()  # other spellings a caller may use (asen_contract.attribute_names)


@dataclass(frozen=True)
class ModelInfo:
    model_version: str
    attributes: tuple[AttributeSpec, ...]
    beta: float
    global_dim: int  # E: the raw global (and local) embedding size
    embedding_dim: int  # D: the served embedding (2E fused, or E for a global-only model)
    max_image_pixels: int  # 0: the contract's default
    max_batch_size: int
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO
    global_size: int = 224
    local_size: int = 112  # 0: a global-only model
    threshold: float = 0.1

    @property
    def attribute_ids(self) -> dict[str, int]:
        return {a.name: a.id for a in self.attributes}

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(self.max_image_pixels or DEFAULT_MAX_PIXELS, self.max_aspect_ratio)

    def resolve_attributes(self, names: list[str]) -> list[AttributeSpec]:
        """Names or aliases -> specs (empty = all, duplicates dropped); ValueError names the
        unknown ones."""
        if not names:
            return list(self.attributes)
        lookup = name_lookup(
            [a.name for a in self.attributes], [a.aliases for a in self.attributes]
        )
        found = {name: find_attribute(lookup, name) for name in names}
        unknown = [name for name, index in found.items() if index is None]
        if unknown:
            known = ", ".join(a.name for a in self.attributes)
            raise ValueError(
                f"unknown attribute(s) {', '.join(map(repr, unknown))}; known: {known}"
            )
        indices = dict.fromkeys(index for index in found.values() if index is not None)
        return [self.attributes[index] for index in indices]

    def check_attribute_ids(self, ids: Any) -> None:
        """InvalidInput unless every id names an attribute (and there is at least one)."""
        values = [int(v) for v in getattr(ids, "flat", ids)]
        if not values:
            raise InvalidInput("no attribute id given: ask for at least one attribute")
        count = len(self.attributes)
        bad = [v for v in values if not 0 <= v < count]
        if bad:
            raise InvalidInput(
                f"attribute id {bad[0]} is out of range: this model has {count} attributes "
                f"(ids 0..{count - 1})"
            )

    def to_triton_parameters(self) -> dict[str, str]:
        """Config `parameters` (all strings, as Triton keeps them); max_batch_size is not one."""
        attributes = []
        for a in self.attributes:
            entry: dict[str, Any] = {
                "name": a.name,
                "num_values": a.num_values,
                "value_names": list(a.value_names),
            }
            if a.aliases:
                entry["aliases"] = list(a.aliases)
            attributes.append(entry)
        values = asdict(self)
        del values["attributes"], values["max_batch_size"]
        parameters = {key: str(value) for key, value in values.items()}
        parameters["attributes"] = json.dumps(attributes, ensure_ascii=False)
        return parameters

    @classmethod
    def from_triton_config(cls, config: Mapping[str, Any] | str) -> ModelInfo:
        """Parse a Triton model config (JSON text or dict); ValueError names what is missing."""
        if isinstance(config, str):
            config = json.loads(config)
        config = config.get("config", config)
        raw = config.get("parameters", {})
        params = {key: value.get("string_value", "") for key, value in raw.items()}
        try:
            attributes = tuple(
                AttributeSpec(
                    id=index,
                    name=str(a["name"]),
                    num_values=int(a.get("num_values") or 0),
                    value_names=tuple(str(v) for v in (a.get("value_names") or ())),
                    aliases=tuple(str(v) for v in (a.get("aliases") or ())),
                )
                for index, a in enumerate(json.loads(params["attributes"]))
            )
            return cls(
                model_version=params["model_version"],
                attributes=attributes,
                beta=float(params["beta"]),
                global_dim=int(params["global_dim"]),
                embedding_dim=int(params["embedding_dim"]),
                max_image_pixels=int(params["max_image_pixels"]),
                max_batch_size=int(config.get("max_batch_size") or 1),
                max_aspect_ratio=float(params["max_aspect_ratio"]),
                global_size=int(params["global_size"]),
                local_size=int(params["local_size"]),
                threshold=float(params["threshold"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"Triton model config lacks ASEN parameters ({error!r}): re-export the model "
                "repository with this version of asen"
            ) from None
