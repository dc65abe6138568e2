"""Item ids as callers give them: bounded (UTF-8 bytes, as the engine counts), printable, and
safe inside engine expressions."""

from __future__ import annotations

from asen_contract.errors import InvalidInput, LimitExceeded

MAX_ITEM_ID_LENGTH = 256
# Joins an item id and an attribute id into a row key; never allowed inside an item id, so the
# rows of one item sort together and no id can collide with another's row keys.
ROW_KEY_SEPARATOR = "\x1f"


def check_item_id(item_id: str, label: str = "item_id") -> str:
    """The id unchanged, or InvalidInput saying what is wrong with it."""
    if not item_id:
        raise InvalidInput(f"{label} is empty")
    if not item_id.isprintable():
        raise InvalidInput(f"{label} {item_id[:40]!r} contains control or non-printable characters")
    if len(item_id) > MAX_ITEM_ID_LENGTH or len(item_id.encode()) > MAX_ITEM_ID_LENGTH:
        raise LimitExceeded(
            f"{label} is {len(item_id.encode())} bytes (UTF-8); the limit is {MAX_ITEM_ID_LENGTH}"
        )
    return item_id


def row_key(item_id: str, attribute_id: int) -> str:
    """Primary key of one stored row: the item's record (-1) or one attribute's vector."""
    return f"{item_id}{ROW_KEY_SEPARATOR}{attribute_id}"
