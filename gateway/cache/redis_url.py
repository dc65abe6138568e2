"""The cache URL: which Redis deployment the embedding cache talks to.

    redis://[[user]:password@]host[:port][/db]          one server (redis-py's own URL form;
    rediss://...                                          rediss = TLS; unix:// a socket)
    redis+cluster://[[user]:password@]host:port[,host:port...]
                                                        Redis Cluster: any reachable nodes seed
                                                        the slot map; no database number
    redis+sentinel://[[user]:password@]host:port[,host:port...]/master-name[/db]
                                                        Sentinel: the sentinels' addresses and
                                                        the monitored master's name
    rediss+cluster://..., rediss+sentinel://...         the same over TLS

The password in the URL (or ASEN_REDIS_PASSWORD, which wins) authenticates to the data nodes;
sentinels that require their own password get ASEN_REDIS_SENTINEL_PASSWORD. Default ports are
6379 for data nodes and 26379 for sentinels. Query options are refused rather than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote, urlsplit

DATA_PORT = 6379
SENTINEL_PORT = 26379


class RedisKind(Enum):
    SINGLE = "single"
    CLUSTER = "cluster"
    SENTINEL = "sentinel"


@dataclass(frozen=True)
class RedisTarget:
    """A parsed cache URL. For SINGLE, `url` is handed to redis-py unchanged."""

    kind: RedisKind
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    master_name: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False


_SCHEMES = {
    "redis": (RedisKind.SINGLE, False),
    "rediss": (RedisKind.SINGLE, True),
    "unix": (RedisKind.SINGLE, False),
    "redis+cluster": (RedisKind.CLUSTER, False),
    "rediss+cluster": (RedisKind.CLUSTER, True),
    "redis+sentinel": (RedisKind.SENTINEL, False),
    "rediss+sentinel": (RedisKind.SENTINEL, True),
}


def parse_redis_url(url: str) -> RedisTarget:
    """Parse a cache URL; raises ValueError with the reason (never echoing a password)."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in _SCHEMES:
        raise ValueError(
            f"cache URL must start with one of {', '.join(s + '://' for s in _SCHEMES)}"
        )
    kind, tls = _SCHEMES[scheme.lower()]
    if kind is RedisKind.SINGLE:
        return RedisTarget(kind, url, tls=tls)
    userinfo, at, hostlist_and_path = rest.rpartition("@")
    if not at:
        userinfo = ""
    hostlist, slash, path = hostlist_and_path.partition("/")
    path, question, query = path.partition("?")
    if "?" in hostlist:
        hostlist, _, query = hostlist.partition("?")
        question = "?"
    if question and query:
        raise ValueError(f"{scheme} URL takes no query options (got {query.split('=')[0]!r})")
    if "#" in path or "#" in hostlist:
        raise ValueError(f"{scheme} URL takes no fragment")
    default_port = SENTINEL_PORT if kind is RedisKind.SENTINEL else DATA_PORT
    nodes = tuple(_node(item, default_port) for item in hostlist.split(","))
    username, password = _credentials(userinfo)
    if kind is RedisKind.CLUSTER:
        if path.strip("/") not in ("", "0"):
            raise ValueError("redis+cluster URL has no database number (a cluster has only db 0)")
        return RedisTarget(kind, url, nodes, username=username, password=password, tls=tls)
    parts = [p for p in path.split("/") if p]
    if not slash or not parts:
        raise ValueError(
            "redis+sentinel URL needs the master name: redis+sentinel://HOST:PORT/NAME"
        )
    if len(parts) > 2:
        raise ValueError("redis+sentinel URL path is /master-name[/db]")
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit():
            raise ValueError(f"redis+sentinel database must be a number, not {parts[1]!r}")
        db = int(parts[1])
    return RedisTarget(
        kind,
        url,
        nodes,
        master_name=unquote(parts[0]),
        db=db,
        username=username,
        password=password,
        tls=tls,
    )


def _node(item: str, default_port: int) -> tuple[str, int]:
    item = item.strip()
    if not item:
        raise ValueError("cache URL has an empty host in its host list")
    parts = urlsplit(f"//{item}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"cache URL host {item!r} has a bad port") from None
    if not parts.hostname:
        raise ValueError(f"cache URL host {item!r} has no host name")
    return parts.hostname, port if port is not None else default_port


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if colon else None)
