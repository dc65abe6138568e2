"""The catalogue's own record of its model versions: collection, layout and build state.

A version's collection is `ready` when it may answer searches: created by ordinary upserts (a
new catalogue fills while it serves), or switched to ready by the end of a reindex. A reindex
writes into a `building` collection that searches refuse (UNAVAILABLE), while the previous
version's collection keeps serving the gateways that still run the previous model.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

READY = "ready"
BUILDING = "building"
STATES = (READY, BUILDING)


@dataclass(frozen=True)
class VersionEntry:
    model_version: str
    collection: str
    state: str
    dim: int
    global_dim: int
    float16: bool
    layout: str
    index_type: str
    attribute_ids: tuple[int, ...]
    attribute_names: tuple[str, ...] = ()  # by position in attribute_ids
    source_version: str = ""  # the version a reindex copies from
    updated_ms: int = 0

    def to_json(self) -> dict:
        data = asdict(self)
        data["attribute_ids"] = list(self.attribute_ids)
        data["attribute_names"] = list(self.attribute_names)
        return data

    @classmethod
    def from_json(cls, data: dict) -> VersionEntry:
        data = dict(data)
        data["attribute_ids"] = tuple(int(a) for a in data.get("attribute_ids", ()))
        data["attribute_names"] = tuple(str(a) for a in data.get("attribute_names", ()))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def names(self) -> dict[int, str]:
        """Attribute id -> name (the id itself as text when the names were not recorded)."""
        names = dict(zip(self.attribute_ids, self.attribute_names, strict=False))
        return {a: names.get(a, str(a)) for a in self.attribute_ids}

    def with_state(self, state: str, source_version: str | None = None) -> VersionEntry:
        values = self.to_json()
        values.update(state=state, updated_ms=now_ms())
        if source_version is not None:
            values["source_version"] = source_version
        return VersionEntry.from_json(values)


def now_ms() -> int:
    return int(time.time() * 1000)
