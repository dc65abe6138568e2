"""What the gateway knows about the served model, read from the Triton ensemble's config.

The ensemble's `parameters` carry the model version, the attribute list, beta and the embedding
layout (contract with the Triton repository); the gateway needs them to map attribute names to
ids, build cache keys and split fused embeddings into their global and local parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AttributeSpec:
    id: int
    name: str
    num_values: int
    value_names: tuple[str, ...]


@dataclass(frozen=True)
class ModelInfo:
    model_version: str
    attributes: tuple[AttributeSpec, ...]
    beta: float
    global_dim: int
    embedding_dim: int
    max_image_pixels: int
    max_batch_size: int

    @property
    def attribute_ids(self) -> dict[str, int]:
        return {a.name: a.id for a in self.attributes}

    def resolve_attributes(self, names: list[str]) -> list[AttributeSpec]:
        """Names -> specs (empty = all, duplicates dropped); ValueError names the unknown ones."""
        if not names:
            return list(self.attributes)
        by_name = {a.name: a for a in self.attributes}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(
                f"unknown attribute(s) {', '.join(map(repr, unknown))}; known: {', '.join(by_name)}"
            )
        return [by_name[n] for n in dict.fromkeys(names)]

    @classmethod
    def from_triton_config(cls, config: dict[str, Any]) -> ModelInfo:
        """Parse `get_model_config(name, as_json=True)`; ValueError if a parameter is missing."""
        config = config.get("config", config)
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        try:
            raw_attributes = json.loads(params["attributes"])
            attributes = tuple(
                AttributeSpec(
                    id=i,
                    name=str(a["name"]),
                    num_values=int(a.get("num_values") or 0),
                    value_names=tuple(str(v) for v in (a.get("value_names") or ())),
                )
                for i, a in enumerate(raw_attributes)
            )
            global_dim = int(params["global_dim"])
            return cls(
                model_version=params["model_version"],
                attributes=attributes,
                beta=float(params["beta"]),
                global_dim=global_dim,
                embedding_dim=int(params.get("embedding_dim") or global_dim),
                max_image_pixels=int(params.get("max_image_pixels") or 0),
                max_batch_size=int(config.get("max_batch_size") or 1),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"Triton model config lacks ASEN parameters: {error!r}") from None
