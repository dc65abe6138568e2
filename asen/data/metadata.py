"""Attribute metadata of a data set: which attributes exist and how many values each has.

The model, the sampler and the readers all need the same attribute table; keeping it in one frozen
object means a data set's files are validated against exactly what the model will be built for.
"""

from __future__ import annotations

from dataclasses import dataclass

from asen_contract.attribute_names import find_attribute, name_lookup
from asen_contract.errors import DataFormatError


@dataclass(frozen=True)
class DatasetSpec:
    """Attributes of a data set, in attribute-id order (the ids used in the label files)."""

    name: str
    attributes: tuple[str, ...]
    num_values: tuple[int, ...]
    value_names: tuple[tuple[str, ...], ...] | None = None
    aliases: tuple[tuple[str, ...], ...] = ()  # other spellings per attribute (or none at all)

    def __post_init__(self) -> None:
        if len(self.attributes) != len(self.num_values):
            raise ValueError("attributes and num_values must have the same length")
        if not self.attributes:
            raise ValueError("a data set needs at least one attribute")
        if self.aliases and len(self.aliases) != len(self.attributes):
            raise ValueError("aliases needs one entry per attribute")
        name_lookup(self.attributes, self.aliases)  # no two attributes answer to one spelling
        if any(count < 2 for count in self.num_values):
            raise ValueError("every attribute needs at least two values")
        if self.value_names is not None:
            if len(self.value_names) != len(self.attributes):
                raise ValueError("value_names needs one entry per attribute")
            for attribute, names, count in zip(
                self.attributes, self.value_names, self.num_values, strict=True
            ):
                if len(names) != count:
                    raise ValueError(f"{attribute}: {len(names)} value names for {count} values")

    @property
    def num_attributes(self) -> int:
        return len(self.attributes)

    def attribute_id(self, name: str) -> int:
        """Id of an attribute given its name or an alias (asen_contract.attribute_names), or its
        id as a string."""
        if name.isdigit() and int(name) < self.num_attributes:
            return int(name)
        found = find_attribute(name_lookup(self.attributes, self.aliases), name)
        if found is not None:
            return found
        raise DataFormatError(
            f"unknown attribute {name!r} for data set {self.name}; "
            f"choose one of: {', '.join(self.attributes)}"
        )

    def value_name(self, attribute: int, value: int) -> str:
        """Readable name of a value; the value id as text when the data set names none."""
        if self.value_names is None:
            return str(value)
        return self.value_names[attribute][value]


FASHIONAI = DatasetSpec(
    name="FashionAI",
    attributes=(
        "skirt_length",
        "sleeve_length",
        "coat_length",
        "pant_length",
        "collar_design",
        "lapel_design",
        "neckline_design",
        "neck_design",
    ),
    num_values=(6, 9, 8, 6, 5, 5, 10, 5),
)

# Names exactly as the official metadata (config/DARN/DARN.yaml); the snake_case spellings used
# before match them by the name rule (case, space, `_` and `-` do not matter).
DARN = DatasetSpec(
    name="DARN",
    attributes=(
        "clothes category",
        "clothes button",
        "clothes color",
        "clothes length",
        "clothes pattern",
        "clothes shape",
        "collar shape",
        "sleeve length",
        "sleeve shape",
    ),
    num_values=(20, 13, 55, 7, 28, 11, 26, 8, 17),
)

# config/DeepFashion/DeepFashion.yaml; the short names used before are aliases.
DEEPFASHION = DatasetSpec(
    name="DeepFashion",
    attributes=(
        "texture-related",
        "fabric-related",
        "shape-related",
        "part-related",
        "style-related",
    ),
    num_values=(156, 218, 180, 216, 230),
    aliases=(("texture",), ("fabric",), ("shape",), ("part",), ("style",)),
)

BUILTIN_SPECS: dict[str, DatasetSpec] = {
    spec.name.lower(): spec for spec in (FASHIONAI, DARN, DEEPFASHION)
}


def builtin_dataset_names() -> list[str]:
    """Names of the data sets whose attribute tables ship with the library."""
    return [spec.name for spec in BUILTIN_SPECS.values()]


def get_dataset_spec(name: str) -> DatasetSpec:
    """Built-in spec by name, case-insensitive (`fashionai`, `DARN`, `deepfashion`)."""
    spec = BUILTIN_SPECS.get(name.lower())
    if spec is None:
        raise DataFormatError(
            f"unknown data set {name!r}; built-in data sets are: "
            f"{', '.join(builtin_dataset_names())} (or give a directory with an attributes.json)"
        )
    return spec
