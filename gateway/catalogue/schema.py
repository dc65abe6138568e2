"""The collection of one model version: one row per (item, attribute) plus one record per item.

Row `item_id␟k` holds the item's fused embedding for attribute k and its RoI box; row
`item_id␟-1` is the item's record (which attributes it has, when it was written; a zero vector
that no search reaches). Metadata is on every row, so a filter applies where the vectors are.
"""

from __future__ import annotations

from pymilvus import DataType, MilvusClient

from gateway.catalogue.identifiers import MAX_ITEM_ID_LENGTH
from gateway.catalogue.index_spec import IndexSpec
from gateway.catalogue.metadata import MAX_VALUE_LENGTH

MAX_ATTRIBUTES = 256
VECTOR_FIELD = "embedding"
OUTPUT_FIELDS = ["item_id", "image_sha256", "category", "brand", "labels", "roi"]


def item_schema(dim: int, float16: bool):
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=MAX_ITEM_ID_LENGTH + 8)
    schema.add_field("item_id", DataType.VARCHAR, max_length=MAX_ITEM_ID_LENGTH)
    schema.add_field("attribute", DataType.INT16)
    schema.add_field("image_sha256", DataType.VARCHAR, max_length=64)
    schema.add_field("category", DataType.VARCHAR, max_length=MAX_VALUE_LENGTH)
    schema.add_field("brand", DataType.VARCHAR, max_length=MAX_VALUE_LENGTH)
    schema.add_field("labels", DataType.JSON)
    schema.add_field(
        "attributes", DataType.ARRAY, element_type=DataType.INT16, max_capacity=MAX_ATTRIBUTES
    )
    schema.add_field("roi", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=4)
    schema.add_field("updated_ms", DataType.INT64)
    vector_type = DataType.FLOAT16_VECTOR if float16 else DataType.FLOAT_VECTOR
    schema.add_field(VECTOR_FIELD, vector_type, dim=dim)
    return schema


def item_index(index: IndexSpec, lite: bool = False):
    """The vector index. pymilvus 3 sends build parameters as separate key/value pairs, which
    a Milvus server reads; Milvus Lite reads only a JSON `params` pair and would drop them
    (measured: IVF always built its default 128 lists), so for Lite they are nested there."""
    params = MilvusClient.prepare_index_params()
    build = {"params": dict(index.build_params)} if lite else dict(index.build_params)
    params.add_index(
        field_name=VECTOR_FIELD,
        index_type=index.index_type,
        metric_type="IP",
        params=build,
    )
    return params


def registry_schema():
    """One row per model version: its collection, build state and layout (a 2-d dummy vector
    because every Milvus collection needs a vector field)."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("model_version", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("entry", DataType.JSON)
    schema.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)
    return schema


def registry_index():
    params = MilvusClient.prepare_index_params()
    params.add_index(field_name="dummy", index_type="FLAT", metric_type="L2")
    return params
