"""Index type and parameters per engine, validated before any collection is built.

`auto` is exact search (FLAT) on Milvus Lite - exact, and fast enough at the sizes a file-backed
catalogue holds - and HNSW on a Milvus server. GPU_CAGRA is Milvus' GPU graph index (nodes with
a GPU). Build and search parameters come from configuration as JSON objects and are checked
against the parameters each index type takes; search widths are raised to at least top_k.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from asen_contract.errors import ConfigError

# index type -> (default build parameters, default search parameters)
_DEFAULTS: dict[str, tuple[dict, dict]] = {
    "FLAT": ({}, {}),
    "IVF_FLAT": ({"nlist": 1024}, {"nprobe": 32}),
    "IVF_SQ8": ({"nlist": 1024}, {"nprobe": 32}),
    "HNSW": ({"M": 16, "efConstruction": 200}, {"ef": 128}),
    "HNSW_SQ": ({"M": 16, "efConstruction": 200, "sq_type": "SQ8"}, {"ef": 128}),
    "IVF_PQ": ({"nlist": 1024, "m": 64, "nbits": 8}, {"nprobe": 32}),
    "DISKANN": ({}, {"search_list": 128}),
    "GPU_CAGRA": ({"intermediate_graph_degree": 64, "graph_degree": 32}, {"itopk_size": 128}),
    "GPU_IVF_FLAT": ({"nlist": 1024}, {"nprobe": 32}),
    "GPU_BRUTE_FORCE": ({}, {}),
}
LITE_INDEXES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "HNSW_SQ")
# Search parameters that bound how many candidates the index returns: at least top_k.
_WIDTH_PARAMS = ("ef", "itopk_size", "search_list")


@dataclass(frozen=True)
class IndexSpec:
    index_type: str
    build_params: dict = field(default_factory=dict)
    search_params: dict = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return self.index_type in ("FLAT", "GPU_BRUTE_FORCE")

    def search_params_for(self, top_k: int) -> dict:
        params = dict(self.search_params)
        for name in _WIDTH_PARAMS:
            if name in params:
                params[name] = max(int(params[name]), top_k)
        return params


def resolve_index(
    index_type: str, build_json: str = "", search_json: str = "", lite: bool = True
) -> IndexSpec:
    """The IndexSpec for a configured type ('auto' picks per engine); ConfigError if invalid."""
    name = index_type.strip().upper() or "AUTO"
    if name == "AUTO":
        name = "FLAT" if lite else "HNSW"
    if name not in _DEFAULTS:
        raise ConfigError(f"unknown catalogue index {index_type!r}; known: {', '.join(_DEFAULTS)}")
    if lite and name not in LITE_INDEXES:
        raise ConfigError(
            f"catalogue index {name} needs a Milvus server; Milvus Lite offers "
            f"{', '.join(LITE_INDEXES)}"
        )
    build_default, search_default = _DEFAULTS[name]
    build = {**build_default, **_json_object(build_json, "catalogue index params")}
    search = {**search_default, **_json_object(search_json, "catalogue search params")}
    for given, default, what in (
        (build, build_default, "index"),
        (search, search_default, "search"),
    ):
        unknown = set(given) - set(default) - _OPTIONAL.get(name, set())
        if unknown:
            raise ConfigError(
                f"{name} takes no {what} parameter(s) {', '.join(sorted(unknown))}; "
                f"it takes: {', '.join(sorted(default)) or 'none'}"
            )
    return IndexSpec(name, build, search)


_OPTIONAL: dict[str, set[str]] = {
    "HNSW_SQ": {"refine", "refine_type", "refine_k"},
    "GPU_CAGRA": {"build_algo", "cache_dataset_on_device", "search_width", "team_size"},
    "IVF_PQ": set(),
}


def _json_object(text: str, what: str) -> dict:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{what} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ConfigError(f'{what} must be a JSON object, e.g. {{"nlist": 1024}}')
    return value
