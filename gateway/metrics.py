"""Prometheus collectors of the gateway (names are a contract: the Helm chart's alerts use them).

Module-level collectors registered in prometheus_client's default REGISTRY, served on their own
HTTP port by `gateway.metrics_server.MetricsServer`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

REQUESTS = Counter(
    "asen_gateway_requests_total",
    "gRPC requests handled by the gateway, by method and gRPC status code name.",
    ["method", "code"],
)
REQUEST_DURATION = Histogram(
    "asen_gateway_request_duration_seconds",
    "Time to answer one unary gRPC call (streams are in stream_duration_seconds).",
    ["method"],
    buckets=_LATENCY_BUCKETS,
)
STREAM_DURATION = Histogram(
    "asen_gateway_stream_duration_seconds",
    "Time of one whole stream (EmbedStream, UpsertItems), from its start to its last answer.",
    ["method"],
    buckets=(0.1, 1.0, 10.0, 60.0, 300.0, 1800.0, 7200.0),
)
STREAM_ITEMS = Counter(
    "asen_gateway_stream_items_total",
    "Items answered inside streams (EmbedStream, UpsertItems), by gRPC status code name.",
    ["method", "code"],
)
CACHE_HITS = Counter(
    "asen_gateway_cache_hits_total",
    "Embedding cache hits (one per attribute embedding).",
    ["backend"],
)
CACHE_MISSES = Counter(
    "asen_gateway_cache_misses_total",
    "Embedding cache misses (one per attribute embedding).",
    ["backend"],
)
CACHE_ERRORS = Counter(
    "asen_gateway_cache_errors_total",
    "Cache operations that failed (the request was computed instead: the cache fails open).",
    ["backend"],
)
CACHE_INVALID_ENTRIES = Counter(
    "asen_gateway_cache_invalid_entries_total",
    "Cached values that were not a valid embedding of the served model (treated as misses).",
    ["backend"],
)
UNKNOWN_ATTRIBUTES = Counter(
    "asen_gateway_unknown_attributes_total",
    "Attribute names in requests that the served model does not know.",
)
TRITON_DURATION = Histogram(
    "asen_gateway_triton_request_duration_seconds",
    "Time of one inference call to Triton.",
    ["model"],
    buckets=_LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("asen_gateway_in_flight_requests", "gRPC requests being handled right now.")
TRITON_ENDPOINTS = Gauge(
    "asen_gateway_triton_endpoints", "Known Triton endpoints by readiness.", ["state"]
)
OPEN_CONNECTIONS = Gauge(
    "asen_gateway_open_connections", "Client TCP connections open to the gRPC port."
)
SERVED_MODEL = Gauge(
    "asen_gateway_served_model_info",
    "The model version the gateway serves (value 1; no series while none is served).",
    ["model_version"],
)

CATALOGUE_REQUESTS = Counter(
    "asen_gateway_catalogue_requests_total",
    "Catalogue operations (search, delete, stats, reindex; upsert counts each item) by outcome.",
    ["operation", "code"],
)
CATALOGUE_DURATION = Histogram(
    "asen_gateway_catalogue_duration_seconds",
    "Time of one catalogue operation (upsert_stream: a whole UpsertItems stream).",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
CATALOGUE_ITEMS = Gauge(
    "asen_gateway_catalogue_items",
    "Items in the catalogue of a model version (as of the last CatalogueStats call).",
    ["model_version"],
)
