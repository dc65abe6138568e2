"""Catalogue settings and index choices: refused early, with a message that says why."""

from __future__ import annotations

import pytest

from asen_contract.errors import ConfigError
from gateway.catalogue.index_spec import resolve_index
from gateway.catalogue.naming import collection_name
from gateway.catalogue.settings import CatalogueSettings


def test_auto_index_is_exact_on_lite_and_hnsw_on_a_server() -> None:
    assert resolve_index("auto", lite=True).index_type == "FLAT"
    assert resolve_index("auto", lite=False).index_type == "HNSW"
    spec = resolve_index("hnsw", '{"M": 32}', '{"ef": 64}', lite=False)
    assert spec.build_params == {"M": 32, "efConstruction": 200}
    assert spec.search_params_for(500) == {"ef": 500}  # never narrower than top_k


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (CatalogueSettings(uri="catalogue"), "must end in .db"),
        (CatalogueSettings(index_type="GPU_CAGRA"), "needs a Milvus server"),
        (CatalogueSettings(index_type="ANNOY"), "unknown catalogue index"),
        (CatalogueSettings(index_type="IVF_FLAT", index_params='{"M": 8}'), "takes no index"),
        (CatalogueSettings(index_type="IVF_FLAT", index_params="[1]"), "JSON object"),
        (CatalogueSettings(search_params="{"), "not JSON"),
        (CatalogueSettings(vector_type="float16"), "float32 vectors only"),
        (CatalogueSettings(layout="shard"), "layout must be"),
        (CatalogueSettings(max_top_k=20000), "16384"),
        (CatalogueSettings(prefix="1x"), "prefix"),
        (CatalogueSettings(token="secret"), "applies to a Milvus server"),
    ],
)
def test_bad_settings_are_refused(settings: CatalogueSettings, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings.validate()
    assert problem in str(caught.value)


def test_server_settings() -> None:
    settings = CatalogueSettings(uri="https://milvus:19530", token="u:p", index_type="GPU_CAGRA")
    settings.validate()
    assert settings.float16 and not settings.lite
    assert not CatalogueSettings(uri="").enabled


def test_collection_names_are_valid_and_distinct() -> None:
    a = collection_name("asen", "ckpt-1a2b/cpu fp32")
    b = collection_name("asen", "ckpt-1a2b/cpu_fp32")
    assert a != b
    assert a.replace("_", "").isalnum() and a[0].isalpha() and len(a) <= 255
