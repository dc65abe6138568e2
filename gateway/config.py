"""Gateway configuration: environment variables (ASEN_*) with matching command-line flags.

A flag given on the command line wins over the environment, which wins over the default. The
effective configuration is logged at start with secrets masked (`masked()`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from asen_contract.errors import ConfigError
from asen_contract.tensors import ENSEMBLE
from gateway.cache.redis_url import parse_redis_url


def _opt(env: str, help: str, *, secret: bool = False, choices: tuple[str, ...] = ()) -> dict:
    return {"env": env, "help": help, "secret": secret, "choices": choices}


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway needs to start; see docs/gateway.md for the full table."""

    grpc_port: int = field(default=50051, metadata=_opt("ASEN_GRPC_PORT", "gRPC listen port"))
    grpc_host: str = field(
        default="127.0.0.1",
        metadata=_opt("ASEN_GRPC_HOST", "gRPC listen address (0.0.0.0 = every interface)"),
    )
    metrics_port: int = field(
        default=9095, metadata=_opt("ASEN_METRICS_PORT", "Prometheus /metrics port; -1 = off")
    )
    metrics_host: str = field(
        default="127.0.0.1",
        metadata=_opt("ASEN_METRICS_HOST", "/metrics listen address (0.0.0.0 = every interface)"),
    )
    triton_urls: str = field(
        default="127.0.0.1:8001",
        metadata=_opt("ASEN_TRITON_URLS", "comma-separated Triton gRPC host:port (static)"),
    )
    discovery: str = field(
        default="static",
        metadata=_opt(
            "ASEN_DISCOVERY", "how Triton endpoints are found", choices=("static", "kubernetes")
        ),
    )
    k8s_namespace: str = field(
        default="default", metadata=_opt("ASEN_K8S_NAMESPACE", "namespace of the Triton Service")
    )
    k8s_service: str = field(
        default="triton", metadata=_opt("ASEN_K8S_SERVICE", "name of the Triton Service")
    )
    triton_grpc_port: int = field(
        default=8001, metadata=_opt("ASEN_TRITON_GRPC_PORT", "Triton gRPC port (kubernetes)")
    )
    triton_model: str = field(
        default=ENSEMBLE, metadata=_opt("ASEN_TRITON_MODEL", "name of the Triton ensemble")
    )
    model_version: str = field(
        default="",
        metadata=_opt(
            "ASEN_MODEL_VERSION", "serve this model version only; empty = what most endpoints serve"
        ),
    )
    triton_timeout_seconds: float = field(
        default=30.0,
        metadata=_opt(
            "ASEN_TRITON_TIMEOUT_SECONDS",
            "bound of a Triton call shared by callers (longer caller deadlines extend it)",
        ),
    )
    redis_url: str = field(
        default="",
        metadata=_opt(
            "ASEN_REDIS_URL",
            "cache URL: redis://host:port/db, redis+cluster://host:port[,host:port...], "
            "redis+sentinel://host:port[,host:port...]/master[/db] (rediss*: TLS); "
            "empty = in-process LRU cache",
            secret=True,
        ),
    )
    redis_password: str = field(
        default="", metadata=_opt("ASEN_REDIS_PASSWORD", "Redis password", secret=True)
    )
    redis_sentinel_password: str = field(
        default="",
        metadata=_opt(
            "ASEN_REDIS_SENTINEL_PASSWORD",
            "password of the sentinels (redis+sentinel)",
            secret=True,
        ),
    )
    redis_timeout_seconds: float = field(
        default=0.25,
        metadata=_opt("ASEN_REDIS_TIMEOUT_SECONDS", "Redis call timeout; slower = a miss"),
    )
    cache_ttl_seconds: int = field(
        default=7 * 24 * 3600, metadata=_opt("ASEN_CACHE_TTL_SECONDS", "embedding cache TTL")
    )
    cache_dtype: str = field(
        default="float32",
        metadata=_opt(
            "ASEN_CACHE_DTYPE",
            "storage of cached embeddings; float16 halves the memory",
            choices=("float32", "float16"),
        ),
    )
    cache_memory_entries: int = field(
        default=100_000,
        metadata=_opt("ASEN_CACHE_MEMORY_ENTRIES", "capacity of the in-process LRU cache"),
    )
    hot_entries: int = field(
        default=4096,
        metadata=_opt(
            "ASEN_HOT_ENTRIES",
            "decoded embeddings kept in process memory in front of the cache (0 = off)",
        ),
    )
    hot_entry_seconds: float = field(
        default=60.0,
        metadata=_opt("ASEN_HOT_ENTRY_SECONDS", "longest time one is kept there"),
    )
    max_candidates: int = field(
        default=256, metadata=_opt("ASEN_MAX_CANDIDATES", "most candidates in one Rank call")
    )
    max_in_flight: int = field(
        default=256,
        metadata=_opt("ASEN_MAX_IN_FLIGHT", "concurrent requests; more = RESOURCE_EXHAUSTED"),
    )
    max_message_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata=_opt("ASEN_MAX_MESSAGE_BYTES", "largest gRPC message accepted"),
    )
    max_image_pixels: int = field(
        default=0,
        metadata=_opt(
            "ASEN_MAX_IMAGE_PIXELS", "largest image (width*height); 0 = the model's own limit"
        ),
    )
    request_timeout_seconds: float = field(
        default=30.0,
        metadata=_opt("ASEN_REQUEST_TIMEOUT_SECONDS", "deadline for calls that set none"),
    )
    stream_window: int = field(
        default=16, metadata=_opt("ASEN_STREAM_WINDOW", "images in flight per EmbedStream")
    )
    shutdown_delay_seconds: float = field(
        default=1.0,
        metadata=_opt(
            "ASEN_SHUTDOWN_DELAY_SECONDS",
            "on stop, keep serving this long after health turns NOT_SERVING (clients move away)",
        ),
    )
    max_streams: int = field(
        default=64,
        metadata=_opt("ASEN_MAX_STREAMS", "open streams (apart from unary calls); more = refused"),
    )
    max_streams_per_caller: int = field(
        default=8,
        metadata=_opt(
            "ASEN_MAX_STREAMS_PER_CALLER", "open streams per API key (or client address)"
        ),
    )
    stream_idle_timeout_seconds: float = field(
        default=60.0,
        metadata=_opt(
            "ASEN_STREAM_IDLE_TIMEOUT_SECONDS", "a stream that sends nothing this long is ended"
        ),
    )
    handshake_timeout_seconds: float = field(
        default=10.0,
        metadata=_opt("ASEN_HANDSHAKE_TIMEOUT_SECONDS", "time for a new connection's handshake"),
    )
    connection_idle_seconds: float = field(
        default=600.0,
        metadata=_opt("ASEN_CONNECTION_IDLE_SECONDS", "close connections without calls this long"),
    )
    max_connections: int = field(
        default=1000,
        metadata=_opt("ASEN_MAX_CONNECTIONS", "open client connections; more are refused"),
    )
    max_connection_age_seconds: float = field(
        default=300.0,
        metadata=_opt(
            "ASEN_MAX_CONNECTION_AGE_SECONDS",
            "clients reconnect after this (reach new pods); 0 = never",
        ),
    )
    max_connection_age_grace_seconds: float = field(
        default=0.0,
        metadata=_opt(
            "ASEN_MAX_CONNECTION_AGE_GRACE_SECONDS",
            "time calls in flight get after the age; 0 = until they end",
        ),
    )
    error_log_per_second: float = field(
        default=5.0,
        metadata=_opt(
            "ASEN_ERROR_LOG_PER_SECOND", "failed-call log lines per method and code per second"
        ),
    )
    shutdown_grace_seconds: float = field(
        default=10.0,
        metadata=_opt("ASEN_SHUTDOWN_GRACE_SECONDS", "time to drain in-flight calls on stop"),
    )
    tls_cert: str = field(default="", metadata=_opt("ASEN_TLS_CERT", "server certificate (PEM)"))
    tls_key: str = field(default="", metadata=_opt("ASEN_TLS_KEY", "server private key (PEM)"))
    tls_client_ca: str = field(
        default="", metadata=_opt("ASEN_TLS_CLIENT_CA", "CA of client certificates: mutual TLS")
    )
    api_keys_file: str = field(
        default="",
        metadata=_opt("ASEN_API_KEYS_FILE", "file of SHA-256 hex digests of accepted API keys"),
    )
    catalogue_uri: str = field(
        default="catalogue.db",
        metadata=_opt(
            "ASEN_CATALOGUE_URI",
            "catalogue engine: a Milvus Lite file (*.db, embedded), http(s)://host:19530 for a "
            "Milvus server; empty = no catalogue",
        ),
    )
    catalogue_token: str = field(
        default="",
        metadata=_opt("ASEN_CATALOGUE_TOKEN", "Milvus token (user:password or key)", secret=True),
    )
    catalogue_tls_ca: str = field(
        default="", metadata=_opt("ASEN_CATALOGUE_TLS_CA", "CA (PEM) of the Milvus server's TLS")
    )
    catalogue_tls_server_name: str = field(
        default="",
        metadata=_opt("ASEN_CATALOGUE_TLS_SERVER_NAME", "name in the Milvus server certificate"),
    )
    catalogue_database: str = field(
        default="", metadata=_opt("ASEN_CATALOGUE_DATABASE", "Milvus database; empty = default")
    )
    catalogue_prefix: str = field(
        default="asen",
        metadata=_opt("ASEN_CATALOGUE_PREFIX", "prefix of the catalogue's collection names"),
    )
    catalogue_index: str = field(
        default="auto",
        metadata=_opt(
            "ASEN_CATALOGUE_INDEX",
            "vector index: auto (FLAT on Lite, HNSW on a server), FLAT, IVF_FLAT, IVF_SQ8, HNSW, "
            "HNSW_SQ, IVF_PQ, DISKANN, GPU_CAGRA, GPU_IVF_FLAT, GPU_BRUTE_FORCE",
        ),
    )
    catalogue_index_params: str = field(
        default="",
        metadata=_opt("ASEN_CATALOGUE_INDEX_PARAMS", 'index build parameters, JSON: {"M": 32}'),
    )
    catalogue_search_params: str = field(
        default="",
        metadata=_opt("ASEN_CATALOGUE_SEARCH_PARAMS", 'search parameters, JSON: {"ef": 256}'),
    )
    catalogue_vector_type: str = field(
        default="auto",
        metadata=_opt(
            "ASEN_CATALOGUE_VECTOR_TYPE",
            "stored vectors: auto (float16 on a server, float32 on Lite), float32, float16",
            choices=("auto", "float32", "float16"),
        ),
    )
    catalogue_layout: str = field(
        default="partition",
        metadata=_opt(
            "ASEN_CATALOGUE_LAYOUT",
            "per attribute a partition (measured faster) or a field filter",
            choices=("partition", "filter"),
        ),
    )
    catalogue_max_top_k: int = field(
        default=1000, metadata=_opt("ASEN_CATALOGUE_MAX_TOP_K", "largest top_k of SearchItems")
    )
    catalogue_timeout_seconds: float = field(
        default=10.0,
        metadata=_opt("ASEN_CATALOGUE_TIMEOUT_SECONDS", "longest wait for one engine call"),
    )
    catalogue_item_timeout_seconds: float = field(
        default=30.0,
        metadata=_opt(
            "ASEN_CATALOGUE_ITEM_TIMEOUT_SECONDS", "deadline of each item of an UpsertItems stream"
        ),
    )
    catalogue_write_batch: int = field(
        default=64, metadata=_opt("ASEN_CATALOGUE_WRITE_BATCH", "items per catalogue write")
    )
    event_loop: str = field(
        default="uvloop",
        metadata=_opt(
            "ASEN_EVENT_LOOP",
            "asyncio event loop: uvloop (libuv, measured faster) or Python's own",
            choices=("uvloop", "asyncio"),
        ),
    )
    log_level: str = field(default="INFO", metadata=_opt("ASEN_LOG_LEVEL", "log level"))

    @property
    def triton_url_list(self) -> list[str]:
        return sorted({u.strip() for u in self.triton_urls.split(",") if u.strip()})

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one `--flag` per field; defaults stay None so the environment can fill them."""
        for f in fields(cls):
            meta = f.metadata
            kwargs: dict = {"default": None, "help": f"{meta['help']} (${meta['env']})"}
            if meta["choices"]:
                kwargs["choices"] = meta["choices"]
            parser.add_argument("--" + f.name.replace("_", "-"), type=_TYPES[f.type], **kwargs)

    @classmethod
    def given(
        cls, args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None
    ) -> dict[str, object]:
        """The settings set by a flag or a (non-empty) variable, flags first, values parsed."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            flag = getattr(args, f.name, None) if args is not None else None
            if flag is not None:
                values[f.name] = flag
            elif env.get(f.metadata["env"], "") != "":
                raw = env[f.metadata["env"]]
                try:
                    values[f.name] = _TYPES[f.type](raw)
                except ValueError as error:
                    raise ConfigError(f"{f.metadata['env']}={raw!r}: {error}") from None
        return values

    @classmethod
    def load(
        cls,
        args: argparse.Namespace | None = None,
        env: Mapping[str, str] | None = None,
        fixed: Mapping[str, object] | None = None,
    ) -> GatewayConfig:
        """Flags over environment over defaults (`fixed` values over all: settings a launcher
        decides itself); raises ConfigError on a malformed value."""
        config = cls(**(cls.given(args, env) | dict(fixed or {})))
        config.validate()
        return config

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of setting `name` (for messages)."""
        return next(f.metadata["env"] for f in fields(cls) if f.name == name)

    def validate(self) -> None:
        for f in fields(self):  # a variable is not checked by argparse's choices, so here
            choices, value = f.metadata["choices"], getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError(f"{f.name} must be one of {', '.join(choices)}, not {value!r}")
        if self.discovery == "static" and not self.triton_url_list:
            raise ConfigError("ASEN_TRITON_URLS is empty: give at least one Triton host:port")
        if self.redis_url:
            try:
                parse_redis_url(self.redis_url)
            except ValueError as error:
                raise ConfigError(f"ASEN_REDIS_URL: {error}") from None
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("TLS needs both ASEN_TLS_CERT and ASEN_TLS_KEY")
        if self.tls_client_ca and not self.tls_cert:
            raise ConfigError(
                "ASEN_TLS_CLIENT_CA (mutual TLS) needs ASEN_TLS_CERT and ASEN_TLS_KEY"
            )
        for name in ("tls_cert", "tls_key", "tls_client_ca", "api_keys_file"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"{name}: no such file: {path}")
        for name in (
            "max_candidates",
            "max_in_flight",
            "max_message_bytes",
            "stream_window",
            "max_streams",
            "max_streams_per_caller",
            "max_connections",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1")
        for name in (
            "stream_idle_timeout_seconds",
            "handshake_timeout_seconds",
            "triton_timeout_seconds",
            "request_timeout_seconds",
            "error_log_per_second",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0")
        if self.hot_entries < 0:
            raise ConfigError("ASEN_HOT_ENTRIES must be >= 0 (0 = off)")
        if self.hot_entry_seconds <= 0:
            raise ConfigError("ASEN_HOT_ENTRY_SECONDS must be > 0")
        if self.catalogue_item_timeout_seconds <= 0:
            raise ConfigError("ASEN_CATALOGUE_ITEM_TIMEOUT_SECONDS must be > 0")
        from gateway.catalogue.settings import CatalogueSettings

        CatalogueSettings.from_config(self).validate()

    def masked(self) -> dict[str, object]:
        """The configuration with secrets hidden, for the start-up log line."""
        shown: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"] and value:
                value = _mask_url(value) if f.name.endswith("_url") else "***"
            shown[f.name] = value
        return shown


def _mask_url(url: str) -> str:
    """Hide a password inside a URL (redis://user:secret@host -> redis://user:***@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


_TYPES = {"int": int, "float": float, "str": str}
