"""Validation of item metadata: bounded sizes (UTF-8 bytes, as the engine counts), label keys
usable in filters."""

from __future__ import annotations

import re
from collections.abc import Mapping

from asen_contract.errors import InvalidInput, LimitExceeded
from gateway.catalogue.items import ItemMetadata

MAX_VALUE_LENGTH = 256
MAX_LABELS = 32
LABEL_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def check_metadata(
    category: str, brand: str, labels: Mapping[str, str], label: str = "item"
) -> ItemMetadata:
    """An ItemMetadata, or InvalidInput naming the offending field."""
    for name, value in (("category", category), ("brand", brand)):
        check_value(value, f"{label}: {name}")
    if len(labels) > MAX_LABELS:
        raise LimitExceeded(f"{label}: {len(labels)} labels; the limit is {MAX_LABELS}")
    for key, value in labels.items():
        check_label_key(key, f"{label}: label")
        check_value(value, f"{label}: label {key!r}")
    return ItemMetadata(category, brand, dict(sorted(labels.items())))


def check_label_key(key: str, label: str) -> str:
    if not LABEL_KEY.match(key):
        raise InvalidInput(
            f"{label} key {key[:70]!r} must be 1-64 characters of letters, digits, '_' or '-', "
            "starting with a letter or '_'"
        )
    return key


def check_value(value: str, label: str) -> str:
    if not value.isprintable():
        raise InvalidInput(f"{label} contains control or non-printable characters")
    check_utf8_length(value, MAX_VALUE_LENGTH, label)
    return value


def check_utf8_length(value: str, limit: int, label: str) -> None:
    """Milvus' VARCHAR max_length counts UTF-8 bytes, so the gateway does too: a longer value
    would fail the engine write of every item in its batch."""
    if len(value) > limit or len(value.encode()) > limit:
        size = len(value.encode(errors="replace"))
        raise LimitExceeded(f"{label} is {size} bytes (UTF-8); the limit is {limit}")
