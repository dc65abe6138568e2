"""The filter language: parsing, validation messages, and its meaning on a real Milvus Lite."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from asen_contract.errors import InvalidInput, LimitExceeded
from gateway.catalogue.filters import (
    MAX_CONDITIONS,
    Condition,
    ItemFilter,
    Op,
    check_filter,
    parse_filter,
    to_engine_expression,
)
from gateway.catalogue.items import AttributeVector, ItemMetadata, ItemRecord

from .conftest import soon


def test_parse_every_operator() -> None:
    parsed = parse_filter(
        'category == \'coat\' and brand != "a\\"b" and labels.season in [\'ss24\', "aw24"] '
        "AND labels.size not in ['XL'] and has labels.sale"
    )
    assert parsed.conditions == (
        Condition("category", Op.EQUALS, ("coat",)),
        Condition("brand", Op.NOT_EQUALS, ('a"b',)),
        Condition("labels.season", Op.IN, ("ss24", "aw24")),
        Condition("labels.size", Op.NOT_IN, ("XL",)),
        Condition("labels.sale", Op.HAS),
    )
    assert not parse_filter("   ")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("colour == 'red'", "unknown field"),
        ("labels.bad key == 'x'", "expected ==, !=, in or not in at column 12, got 'key'"),
        ("category == red", "expected a quoted value at column 13"),
        ("category == 'x' or brand == 'y'", "expected 'and' at column 17"),
        ("category in ['a' 'b']", "expected ',' or ']'"),
        ("category ==", "expected a quoted value at the end"),
        ("category == 'x'; drop", "unexpected character ';' at column 16"),
        ("labels.x == 'a\\qb'", "unknown escape \\q"),
        ('labels["x"] == "a"', "at column 7, got '['"),
        ("labels.1x == 'a'", "must be 1-64 characters"),
    ],
)
def test_parse_errors_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter(text)
    assert problem in str(caught.value)


def test_structured_filter_is_validated() -> None:
    with pytest.raises(InvalidInput, match="takes exactly one value"):
        check_filter([Condition("brand", Op.EQUALS, ("a", "b"))])
    with pytest.raises(InvalidInput, match="needs at least one value"):
        check_filter([Condition("brand", Op.IN, ())])
    with pytest.raises(InvalidInput, match="takes no values"):
        check_filter([Condition("labels.x", Op.HAS, ("a",))])
    with pytest.raises(InvalidInput, match="control"):
        check_filter([Condition("brand", Op.EQUALS, ("a\x00b",))])
    with pytest.raises(LimitExceeded, match="the limit is"):
        check_filter([Condition("brand", Op.HAS)] * (MAX_CONDITIONS + 1))


def _matches(condition: Condition, metadata: ItemMetadata) -> bool:
    """The documented meaning: a missing label reads as the empty string."""
    if condition.field.startswith("labels."):
        key = condition.field.removeprefix("labels.")
        if condition.op is Op.HAS:
            return key in metadata.labels
        value = metadata.labels.get(key, "")
    else:
        value = getattr(metadata, condition.field)
        if condition.op is Op.HAS:
            return value != ""
    if condition.op in (Op.EQUALS, Op.IN):
        return value in condition.values
    return value not in condition.values


async def test_engine_applies_the_documented_meaning(any_layout_store) -> None:
    """Every kind of condition, over items with and without each label, tricky quotes included."""
    store = any_layout_store
    colours = ["red", 'da"rk', "back\\slash", None]
    sizes = ["M", "", None]
    metadata = [
        ItemMetadata(
            category=category,
            brand=brand,
            labels={k: v for k, v in (("colour", colour), ("size", size)) if v is not None},
        )
        for category, brand, colour, size in itertools.product(
            ["coat", ""], ["acme", "o'neil"], colours, sizes
        )
    ]
    entry = await store.ensure_version("v-filters", 4, 2, [0], soon())
    rng = np.random.default_rng(0)
    records = [
        ItemRecord(
            f"item-{i}",
            "0" * 64,
            m,
            (AttributeVector(0, rng.standard_normal(4).astype(np.float32), (0, 0, 1, 1)),),
        )
        for i, m in enumerate(metadata)
    ]
    await store.upsert(entry, records, soon())
    filters = [
        "category == 'coat'",
        "has category",
        'brand == "o\'neil"',
        "labels.colour == 'da\"rk'",
        "labels.colour == 'back\\\\slash'",
        "labels.colour != 'red'",
        "labels.colour in ['red', 'back\\\\slash']",
        "labels.colour not in ['red', 'da\"rk']",
        "has labels.size",
        "labels.size == ''",
        "labels.size != ''",
        "labels.size in ['', 'M']",
        "labels.size not in ['']",
        "category != 'coat' and has labels.colour and labels.size not in ['M']",
    ]
    query = np.ones(4, dtype=np.float32)
    for text in filters:
        item_filter = parse_filter(text)
        expected = {
            r.item_id
            for r in records
            if all(_matches(c, r.metadata) for c in item_filter.conditions)
        }
        hits = await store.search(
            entry, query, 0, len(records), to_engine_expression(item_filter), "", soon()
        )
        assert {h.item_id for h in hits} == expected, text


def test_empty_filter_renders_nothing() -> None:
    assert to_engine_expression(ItemFilter()) == ""
