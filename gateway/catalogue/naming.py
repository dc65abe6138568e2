"""Engine names: one collection per model version, so two versions' vectors never mix.

A model version string may hold characters Milvus does not allow in a name, so the name is a
readable slug of it plus 12 hex digits of its SHA-256 (two versions never share a collection).
"""

from __future__ import annotations

import hashlib
import re

from asen_contract.errors import ConfigError

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")
ITEM_RECORD = -1  # the attribute id of an item's record row (metadata, no meaningful vector)
RECORD_PARTITION = "items"


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ConfigError(
            f"catalogue collection prefix {prefix!r} must be 1-40 letters, digits or '_', "
            "starting with a letter"
        )
    return prefix


def collection_name(prefix: str, model_version: str) -> str:
    slug = _UNSAFE.sub("_", model_version).strip("_")[:80]
    digest = hashlib.sha256(model_version.encode()).hexdigest()[:12]
    return f"{prefix}_items_{slug}_{digest}"


def registry_name(prefix: str) -> str:
    return f"{prefix}_catalogue_versions"


def attribute_partition(attribute_id: int) -> str:
    return RECORD_PARTITION if attribute_id == ITEM_RECORD else f"attr_{attribute_id}"
