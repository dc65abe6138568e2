"""How the gateway reaches and lays out its catalogue (built from GatewayConfig's catalogue rows).

The URI decides the engine: a path ending in `.db` is a Milvus Lite file (embedded, in this
process); `http://`, `https://`, `tcp://` or `unix:` is a Milvus standalone or cluster server
(`https://` = TLS). An empty URI turns the catalogue off.
"""

from __future__ import annotations

from dataclasses import dataclass

from asen_contract.errors import ConfigError
from gateway.catalogue.index_spec import IndexSpec, resolve_index
from gateway.catalogue.naming import check_prefix

_SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")
LAYOUTS = ("partition", "filter")
VECTOR_TYPES = ("auto", "float32", "float16")


@dataclass(frozen=True)
class CatalogueSettings:
    uri: str = "catalogue.db"
    token: str = ""  # "user:password" or an API key of a Milvus server
    tls_ca: str = ""  # CA certificate (PEM) that signed the server's certificate
    tls_server_name: str = ""  # name expected in the server certificate
    database: str = ""  # Milvus database ("" = the server's default)
    prefix: str = "asen"
    index_type: str = "auto"
    index_params: str = ""  # JSON object
    search_params: str = ""  # JSON object
    vector_type: str = "auto"  # float16 where the engine has it (servers), else float32
    layout: str = "partition"  # attribute -> partition, or a field filter
    max_top_k: int = 1000
    timeout_seconds: float = 10.0  # one engine call, when the request's deadline is later
    write_batch: int = 64  # items per engine write
    threads: int = 4  # engine calls run in this many threads (pymilvus is synchronous)

    @property
    def enabled(self) -> bool:
        return bool(self.uri)

    @property
    def lite(self) -> bool:
        return not self.uri.startswith(_SERVER_SCHEMES)

    @property
    def index(self) -> IndexSpec:
        return resolve_index(self.index_type, self.index_params, self.search_params, self.lite)

    @property
    def float16(self) -> bool:
        return self.vector_type == "float16" or (self.vector_type == "auto" and not self.lite)

    @classmethod
    def from_config(cls, config: object) -> CatalogueSettings:
        """The catalogue rows of a GatewayConfig (fields named catalogue_*)."""
        values = {}
        for name in cls.__dataclass_fields__:
            row = f"catalogue_{'index' if name == 'index_type' else name}"
            if hasattr(config, row):
                values[name] = getattr(config, row)
        return cls(**values)

    def validate(self) -> None:
        if not self.enabled:
            return
        if self.lite and not self.uri.endswith(".db"):
            raise ConfigError(
                f"catalogue URI {self.uri!r}: a Milvus Lite file must end in .db; a server is "
                "http(s)://host:port"
            )
        check_prefix(self.prefix)
        self.index  # noqa: B018 (raises ConfigError)
        if self.layout not in LAYOUTS:
            raise ConfigError(f"catalogue layout must be one of {', '.join(LAYOUTS)}")
        if self.vector_type not in VECTOR_TYPES:
            raise ConfigError(f"catalogue vector type must be one of {', '.join(VECTOR_TYPES)}")
        if self.lite and self.vector_type == "float16":
            raise ConfigError("Milvus Lite stores float32 vectors only; float16 needs a server")
        if self.lite and (self.token or self.tls_ca):
            raise ConfigError("a token or TLS CA applies to a Milvus server URI, not a .db file")
        if not 1 <= self.max_top_k <= 16384:
            raise ConfigError("catalogue max top_k must be 1..16384 (Milvus' own limit)")
        for name in ("timeout_seconds", "write_batch", "threads"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"catalogue {name.replace('_', ' ')} must be > 0")
