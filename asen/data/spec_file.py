"""A data set's own attribute table, `attributes.json` in its root, so a directory describes itself.

Format (written by `asen data synth`; any data set may carry one):
    {"name": "synthetic-garments",
     "attributes": [{"name": "neckline_shape", "num_values": 5,
                     "values": ["round", "v", "square", "boat", "high"]}, ...]}
`values` is optional; when present it must list one name per value, in value-id order.
`aliases` (optional) lists other spellings a user may give for the attribute
(asen_contract.attribute_names: case, spaces, `_` and `-` never matter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asen.data.metadata import DatasetSpec, builtin_dataset_names, get_dataset_spec
from asen_contract.errors import DataFormatError

SPEC_FILENAME = "attributes.json"


def spec_to_json(spec: DatasetSpec) -> dict[str, Any]:
    """The JSON object `read_spec_file` reads back into the same spec."""
    attributes = []
    for index, (name, count) in enumerate(zip(spec.attributes, spec.num_values, strict=True)):
        entry: dict[str, Any] = {"name": name, "num_values": count}
        if spec.value_names is not None:
            entry["values"] = list(spec.value_names[index])
        if spec.aliases and spec.aliases[index]:
            entry["aliases"] = list(spec.aliases[index])
        attributes.append(entry)
    return {"name": spec.name, "attributes": attributes}


def write_spec_file(root: Path, spec: DatasetSpec) -> Path:
    path = Path(root) / SPEC_FILENAME
    path.write_text(json.dumps(spec_to_json(spec), indent=2) + "\n", encoding="utf-8")
    return path


def read_spec_file(path: Path) -> DatasetSpec:
    """Parse an attributes.json; every problem is reported with the file's name."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataFormatError(f"{path}: cannot read: {error.strerror or error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: not valid JSON: {error}") from error
    try:
        return _spec_from_json(document)
    except (KeyError, TypeError, ValueError) as error:
        raise DataFormatError(f"{path}: {error}") from error


def _spec_from_json(document: Any) -> DatasetSpec:
    if not isinstance(document, dict) or not isinstance(document.get("attributes"), list):
        raise ValueError('expected an object with an "attributes" list')
    names: list[str] = []
    counts: list[int] = []
    value_names: list[tuple[str, ...]] = []
    aliases: list[tuple[str, ...]] = []
    for index, entry in enumerate(document["attributes"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f'attribute {index}: expected an object with a string "name"')
        count = entry.get("num_values")
        values = entry.get("values")
        if count is None and isinstance(values, list):
            count = len(values)
        if not isinstance(count, int) or isinstance(count, bool):
            raise ValueError(
                f'attribute {index} ({entry["name"]}): "num_values" must be an integer'
            )
        names.append(entry["name"])
        counts.append(count)
        if values is not None:
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f'attribute {index} ({entry["name"]}): "values" must be strings')
            value_names.append(tuple(values))
        other = entry.get("aliases", [])
        if not isinstance(other, list) or not all(isinstance(v, str) for v in other):
            raise ValueError(f'attribute {index} ({entry["name"]}): "aliases" must be strings')
        aliases.append(tuple(other))
    if value_names and len(value_names) != len(names):
        raise ValueError('either every attribute lists its "values" or none does')
    return DatasetSpec(
        name=str(document.get("name", "unnamed")),
        attributes=tuple(names),
        num_values=tuple(counts),
        value_names=tuple(value_names) if value_names else None,
        aliases=tuple(aliases) if any(aliases) else (),
    )


def load_dataset_spec(root: Path, name: str | None = None) -> DatasetSpec:
    """The spec for a data set root.

    Without a name, the root's attributes.json decides. With a name, a built-in spec is used,
    unless the root's attributes.json carries that same name (then the file wins: it may add value
    names).
    """
    path = Path(root) / SPEC_FILENAME
    if name is None:
        if not path.is_file():
            raise DataFormatError(
                f"{path} does not exist; name the data set instead "
                f"(one of: {', '.join(builtin_dataset_names())})"
            )
        return read_spec_file(path)
    if path.is_file():
        spec = read_spec_file(path)
        if spec.name.lower() == name.lower():
            return spec
    return get_dataset_spec(name)
