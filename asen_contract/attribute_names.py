"""How an attribute name given by a caller is matched to a model's attribute.

Models keep the official metadata's spelling (DARN `clothes category`, DeepFashion
`texture-related`, FashionAI `skirt_length`). A caller's name matches when it equals the name or
one of the attribute's aliases up to case and the separators space, `_` and `-`
(`clothes_category`, `Clothes-Category`); aliases carry other spellings (DeepFashion's former
`texture`). One rule for the CLI, the data files and the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence


def name_key(name: str) -> str:
    """The form two spellings of one name share."""
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


def name_lookup(names: Sequence[str], aliases: Sequence[Sequence[str]] = ()) -> dict[str, int]:
    """Key -> attribute index for every name and alias; ValueError when two attributes would
    answer to the same spelling."""
    lookup: dict[str, int] = {}
    for index, name in enumerate(names):
        spellings = [name, *(aliases[index] if index < len(aliases) else ())]
        for spelling in spellings:
            key = name_key(spelling)
            if lookup.get(key, index) != index:
                raise ValueError(
                    f"attribute names {names[lookup[key]]!r} and {name!r} both answer to "
                    f"{spelling!r}"
                )
            lookup[key] = index
    return lookup


def find_attribute(lookup: dict[str, int], name: str) -> int | None:
    return lookup.get(name_key(name))
